# Bonuses (billing.md §19; api.md R105–R108; DECISIONS D7): set_bonus through
# PUT /admin/user/bonus (history row, users.bonus through the ledger, the BONUS spool task for
# credits), the list, comment/date edits (amounts refused), deletes that reverse the amount
# through the ledger (refused when the bonus is already spent). `billd check` ends every
# scenario.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);
use JSON::PP;

my $JSON = JSON::PP->new->canonical->allow_nonref;
my $NOW  = '2024-05-06 07:08:09';
my $FIXED = "Field bonus: can't be changed; add a correcting bonus with PUT /admin/user/bonus";

sub ledger_ok {
    my ($s, $what) = @_;
    local $ENV{DATABASE_URL}     = $s->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub money_of {
    my ($s, $adm, $uid) = @_;
    my $r = $s->req(GET => '/shm/v1/admin/user', session => $adm, query => { user_id => $uid });
    return join ' ', map { jenc($r, 'data', 0, $_) // 'undef' } qw(balance bonus);
}

sub tasks_of {
    my ($s, $uid) = @_;
    my @out;
    for my $row ($s->sql("SELECT event, settings FROM spool WHERE user_id = $uid ORDER BY id")) {
        my ($ev, $set) = split /\|/, $row;
        push @out, [ $JSON->decode($ev)->{name}, $JSON->decode($set) ];
    }
    return \@out;
}

sub mkuser {
    my ($s, $adm, $login) = @_;
    my $r = $s->req(PUT => '/shm/v1/admin/user', session => $adm,
        json => { login => $login, password => 'Password1' });
    die "cannot create $login: $r->{body}" unless $r->{status} == 200;
    return data0($r)->{user_id};
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine, env => { BILLD_TEST_CLOCK => 1 });
        my $adm = $s->admin_session;
        my %A   = (session => $adm);
        my $r = $s->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => $NOW });
        is $r->{status}, 200, 'clock frozen';
        my $u1 = mkuser($s, $adm, 'bonus1');
        my $u2 = mkuser($s, $adm, 'bonus2');
        my ($b1, $b2, $b3);

        subtest 'set_bonus (R106)' => sub {
            $r = $s->req(PUT => '/shm/v1/admin/user/bonus', %A,
                json => { user_id => $u1, bonus => 10, comment => { msg => 'welcome' } });
            is $r->{status}, 200, 'status 200';
            $b1 = data0($r)->{id};
            is canon($r),
                qq({"TZ":"UTC","data":[{"bonus":10,"comment":{"msg":"welcome"},"date":"$NOW",)
              . qq("id":$b1,"user_id":$u1}],"date":"Mon May  6 07:08:09 2024","status":200}),
                'exact body';
            is money_of($s, $adm, $u1), '0 10', 'users.bonus +10';
            is_deeply tasks_of($s, $u1), [ [ 'BONUS', { bonus_id => $b1 } ] ], 'BONUS task';
            is_deeply [ $s->sql("SELECT kind, money, bonus, ref_table, ref_id FROM ledger"
                    . " WHERE user_id = $u1") ], ["bonus|0|1000|bonus_history|$b1"],
                'ledger row (D7)';

            $r = $s->req(PUT => '/shm/v1/admin/user/bonus', %A,
                json => { user_id => $u1, bonus => '-2.5', comment => 'correction' });
            is $r->{status}, 200, 'a debit: 200';
            $b2 = data0($r)->{id};
            is jenc($r, 'data', 0, 'bonus'), '-2.5', 'bonus -2.5';
            is jenc($r, 'data', 0, 'comment'), '"correction"', 'a text comment is kept as text';
            is money_of($s, $adm, $u1), '0 7.5', 'users.bonus 7.5';
            is scalar @{ tasks_of($s, $u1) }, 1, 'no task for a debit';

            $r = $s->req(PUT => '/shm/v1/admin/user/bonus', %A, json => { user_id => $u2, bonus => 3 });
            $b3 = data0($r)->{id};
            is jenc($r, 'data', 0, 'comment'), 'null', 'no comment: null';

            my @bad = (
                [ { user_id => $u1 }, 400, 'Field required: bonus' ],
                [ { user_id => $u1, bonus => 0 }, 400, 'Field bonus: must not be zero' ],
                [ { user_id => $u1, bonus => '1.234' }, 400,
                  'Field bonus: expected an amount with at most 2 decimals' ],
                [ { user_id => 999999, bonus => 1 }, 404, 'Object not found. Check the ID.' ],
                [ { user_id => 'me', bonus => 1 }, 400, 'Field user_id: expected a positive integer' ],
            );
            for my $c (@bad) {
                my ($args, $status, $msg) = @$c;
                my $r2 = $s->req(PUT => '/shm/v1/admin/user/bonus', %A, json => $args);
                is $r2->{status}, $status, "$msg: status";
                is canon($r2), $JSON->encode({ error => $msg, status => $status }), "$msg: body";
            }
            $r = $s->req(PUT => '/shm/v1/admin/user/bonus', %A,
                json => { user_id => $u1, bonus => 100, dry_run => 1 });
            is $r->{status}, 200, 'dry_run: 200';
            is money_of($s, $adm, $u1), '0 7.5', 'dry_run: nothing committed';
            ledger_ok($s, 'set_bonus');
        };

        subtest 'list (R105)' => sub {
            $r = $s->req(GET => '/shm/v1/admin/user/bonus', %A);
            is jenc($r, 'items'), '3', 'all rows';
            is_deeply [ map { $_->{id} } @{ $r->{json}{data} } ], [ $b3, $b2, $b1 ], 'id descending';
            $r = $s->req(GET => '/shm/v1/admin/user/bonus', %A, query => { user_id => $u1 });
            is jenc($r, 'items'), '2', 'rows of user_id';
            $r = $s->req(GET => '/shm/v1/admin/user/bonus', %A,
                query => { filter => '{"comment":{"msg":"welcome"}}' });
            is_deeply [ map { $_->{id} } @{ $r->{json}{data} } ], [$b1], 'JSON path filter';
        };

        subtest 'edit (R107)' => sub {
            $r = $s->req(POST => '/shm/v1/admin/user/bonus', %A,
                json => { id => $b1, comment => { msg => 'edited' } });
            is $r->{status}, 200, 'comment: 200';
            is jenc($r, 'data', 0, 'comment'), '{"msg":"edited"}', 'comment changed';
            $r = $s->req(POST => '/shm/v1/admin/user/bonus', %A,
                json => { id => $b1, user_id => $u1, bonus => 10, date => '2024-01-02 03:04:05',
                          comment => { msg => 'whole row' } });
            is $r->{status}, 200, 'the whole row sent back with an unchanged amount: 200';
            is jenc($r, 'data', 0, 'date'), '"2024-01-02 03:04:05"', 'date changed';
            is jenc($r, 'data', 0, 'bonus'), '10', 'amount unchanged';
            $r = $s->req(POST => '/shm/v1/admin/user/bonus', %A, json => { id => $b1, bonus => 99 });
            is $r->{status}, 400, 'amount change: 400';
            is canon($r), $JSON->encode({ error => $FIXED, status => 400 }), 'amount change: body';
            $r = $s->req(POST => '/shm/v1/admin/user/bonus', %A, json => { comment => 'x' });
            is canon($r), '{"error":"`id` not present","status":400}', 'no id';
            $r = $s->req(POST => '/shm/v1/admin/user/bonus', %A, json => { id => 999999, comment => 'x' });
            is $r->{status}, 404, 'unknown id: 404';
            $r = $s->req(POST => '/shm/v1/admin/user/bonus', %A,
                json => { id => $b1, user_id => $u2, comment => 'x' });
            is $r->{status}, 404, "a row of another user than user_id: 404";
            $r = $s->req(POST => '/shm/v1/admin/user/bonus', %A, json => { id => $b1, nope => 1 });
            is canon($r), '{"error":"Unknown field: nope","status":400}', 'unknown field';
            is money_of($s, $adm, $u1), '0 7.5', 'edits move no money';
            ledger_ok($s, 'edits');
        };

        subtest 'delete (R108)' => sub {
            $r = $s->req(DELETE => '/shm/v1/admin/user/bonus', %A, query => { user_id => $u1 });
            is canon($r), '{"error":"Field required: id","status":400}', 'id required';
            $r = $s->req(DELETE => '/shm/v1/admin/user/bonus', %A, query => { id => $b1 });
            is canon($r), '{"error":"Field required: user_id","status":400}', 'user_id required';
            $r = $s->req(DELETE => '/shm/v1/admin/user/bonus', %A, query => { id => $b3, user_id => $u1 });
            is $r->{status}, 404, "another user's row: 404";
            is canon($r), '{"error":"Object not found. Check the ID.","status":404}', '404 body';
            $r = $s->req(DELETE => '/shm/v1/admin/user/bonus', %A, query => { id => $b1, user_id => $u1 });
            is $r->{status}, 400, 'deleting +10 with 7.5 left: 400';
            is canon($r),
                '{"error":"Can\'t delete the bonus: it has already been spent","status":400}',
                'spent: body';
            $r = $s->req(DELETE => '/shm/v1/admin/user/bonus', %A, query => { id => $b2, user_id => $u1 });
            is $r->{status}, 200, 'deleting the debit: 200';
            is jenc($r, 'data'), '[]', 'empty data';
            is money_of($s, $adm, $u1), '0 10', 'the debit is reversed';
            $r = $s->req(DELETE => '/shm/v1/admin/user/bonus', %A, query => { id => $b1, user_id => $u1 });
            is $r->{status}, 200, 'deleting the credit: 200';
            is money_of($s, $adm, $u1), '0 0', 'the credit is reversed';
            $r = $s->req(GET => '/shm/v1/admin/user/bonus', %A, query => { user_id => $u1 });
            is jenc($r, 'items'), '0', 'no rows left';
            is_deeply [ $s->sql("SELECT kind, bonus, ref_id FROM ledger WHERE user_id = $u1"
                    . " ORDER BY id") ],
                [ "bonus|1000|$b1", "bonus|-250|$b2", "bonus_delete|250|$b2", "bonus_delete|-1000|$b1" ],
                'the ledger keeps every step (D7)';
            $r = $s->req(DELETE => '/shm/v1/admin/user/bonus', %A, query => { id => $b1, user_id => $u1 });
            is $r->{status}, 404, 'second delete: 404';
            ledger_ok($s, 'deletes');
        };

        subtest 'users cannot' => sub {
            my $usid = $s->login('bonus2', 'Password1');
            for my $m (qw(GET PUT POST DELETE)) {
                $r = $s->req($m => '/shm/v1/admin/user/bonus', session => $usid,
                    query => { user_id => $u2, id => $b3, bonus => 5 });
                is $r->{status}, 403, "$m: 403";
            }
            is money_of($s, $adm, $u2), '0 3', 'unchanged';
        };

        ledger_ok($s, 'end of the scenarios');
        $s->stop;
    };
}

done_testing;
