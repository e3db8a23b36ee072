# Payments (billing.md §17, §18; api.md R57, R98, R103, R104, §14.1 "admin payment" and
# "payment", §14.2 rows 33–35 and 59; DECISIONS D7, D8): the payment row, the balance, the
# ledger, the PAYMENT spool task, partner rewards, uniq_key idempotency (also with parallel
# clients), dry_run and the Test header, lists and deletes. `billd check` ends every scenario.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $JSON = JSON::PP->new->canonical->allow_nonref;
my $NOW  = '2024-05-06 07:08:09';    # the frozen test clock (D5) of these scenarios

# `billd check` against the server's database must pass (D7).
sub ledger_ok {
    my ($s, $what) = @_;
    local $ENV{DATABASE_URL}     = $s->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

# The money columns of a user, as the admin API renders them.
sub money_of {
    my ($s, $adm, $uid) = @_;
    my $r = $s->req(GET => '/shm/v1/admin/user', session => $adm, query => { user_id => $uid });
    return join ' ', map { jenc($r, 'data', 0, $_) // 'undef' } qw(balance bonus);
}

# The user's spool tasks: [{event, prio, status, settings, delayed}] in id order.
sub tasks_of {
    my ($s, $uid) = @_;
    my @out;
    for my $row ($s->sql("SELECT event, prio, status, settings, delayed FROM spool"
            . " WHERE user_id = $uid ORDER BY id")) {
        my ($ev, $prio, $st, $set, $del) = split /\|/, $row;
        push @out, { event => $JSON->decode($ev), prio => $prio, status => $st,
                     settings => $JSON->decode($set), delayed => $del };
    }
    return \@out;
}

sub mkuser {
    my ($s, $adm, $login, %extra) = @_;
    my $r = $s->req(PUT => '/shm/v1/admin/user', session => $adm,
        json => { login => $login, password => 'Password1', %extra });
    die "cannot create $login: $r->{body}" unless $r->{status} == 200;
    return data0($r)->{user_id};
}

# Sends the same request from $n forked clients at once; returns their {status, body}.
sub parallel {
    my ($s, $n, $method, $path, $headers, $body) = @_;
    my $start = time + 0.5;
    my @kids;
    for my $i (1 .. $n) {
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $rd;
            my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
            sleep 0.002 while time < $start;
            my $res = $http->request($method, $s->base . $path,
                { headers => $headers, content => $body });
            print {$wr} $JSON->encode({ status => $res->{status}, body => $res->{content} });
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [ $pid, $rd ];
    }
    my @out;
    for my $k (@kids) {
        my ($pid, $rd) = @$k;
        local $/;
        my $text = <$rd>;
        close $rd;
        waitpid $pid, 0;
        push @out, $JSON->decode($text);
    }
    return @out;
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine,
            env => { BILLD_TEST_CLOCK => 1, WORKERS_COUNT => 8 });
        my $adm = $s->admin_session;
        my %A   = (session => $adm);
        my $r = $s->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => $NOW });
        is $r->{status}, 200, 'clock frozen';

        my $u1 = mkuser($s, $adm, 'payer1');
        my $u2 = mkuser($s, $adm, 'payer2');
        my ($tg_id, $num_id);    # payments of payer2, listed and deleted below

        subtest 'admin payment (golden 33, §14.1)' => sub {
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A, json => {
                user_id => $u1, money => 100, pay_system_id => 'manual',
                comment => { comment => 'golden' } });
            is $r->{status}, 200, 'status 200';
            my $id = data0($r)->{id};
            is canon($r),
                qq({"TZ":"UTC","data":[{"comment":{"comment":"golden"},"date":"$NOW","id":$id,)
              . qq("money":100,"pay_system_id":"manual","uniq_key":null,"user_id":$u1}],)
              . qq("date":"Mon May  6 07:08:09 2024","status":200}), 'exact body';
            is $id, 1, 'the first payment has id 1';
            is money_of($s, $adm, $u1), '100 0', 'balance +100';
            is_deeply tasks_of($s, $u1), [ {
                event => { kind => 'UserService', method => 'activate_services', name => 'PAYMENT',
                           title => 'user payment' },
                prio => 100, status => 'NEW', settings => { pay_id => $id }, delayed => 0 } ],
                'the PAYMENT task, exactly as SHM writes it';
            is_deeply [ $s->sql("SELECT kind, money, bonus, ref_table, ref_id FROM ledger"
                    . " WHERE user_id = $u1") ], ["payment|10000|0|pays_history|$id"],
                'the ledger row (D7)';

            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u1, money => '23.45', pay_system_id => 'yoomoney',
                          comment => 'string comment', currency => 'rub' });
            is $r->{status}, 200, 'decimal string amount, string comment, currency rub: 200';
            is jenc($r, 'data', 0, 'money'), '23.45', 'money 23.45';
            is jenc($r, 'data', 0, 'comment'), '{"comment":"string comment"}',
                'a string comment is stored as {"comment": …}';
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u1, money => -3.45, pay_system_id => 'manual-refund' });
            is jenc($r, 'data', 0, 'money'), '-3.45', 'refunds are negative payments';
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                form => { user_id => $u1, money => '0', pay_system_id => 'manual-canceled' });
            is $r->{status}, 200, 'form-encoded cancellation (0): 200';
            is jenc($r, 'data', 0, 'money'), '0', 'money 0';
            is money_of($s, $adm, $u1), '120 0', 'balance 100 + 23.45 - 3.45 + 0';
            is scalar @{ tasks_of($s, $u1) }, 4, 'one PAYMENT task per payment';
            ledger_ok($s, 'admin payment');
        };

        subtest 'validation (golden 34)' => sub {
            my @cases = (
                [ { user_id => $u1 }, 400, 'Field required: money' ],
                [ { money => 1 }, 400, 'Field required: user_id' ],
                [ { user_id => $u1, money => '' }, 400, 'Field required: money' ],
                [ { user_id => $u1, money => '12.345' }, 400,
                  'Field money: expected an amount with at most 2 decimals' ],
                [ { user_id => $u1, money => 'ten' }, 400,
                  'Field money: expected an amount with at most 2 decimals' ],
                [ { user_id => $u1, money => '10000000000001' }, 400,
                  'Field money: expected an amount with at most 2 decimals' ],
                [ { user_id => 'abc', money => 1 }, 400,
                  'Field user_id: expected a positive integer' ],
                [ { user_id => 999999, money => 1 }, 404, 'Object not found. Check the ID.' ],
                [ { user_id => $u1, money => 1, pay_system_id => 'x' x 33 }, 400,
                  'Field pay_system_id: longer than 32 characters' ],
                [ { user_id => $u1, money => 1, pay_system_id => [1] }, 400,
                  'Field pay_system_id: expected a string' ],
                [ { user_id => $u1, money => 1, uniq_key => 'k' x 256 }, 400,
                  'Field uniq_key: longer than 255 characters' ],
                [ { user_id => $u1, money => 1, currency => 'USD' }, 400,
                  'Field currency: only RUB is accepted (no currency conversion)' ],
            );
            for my $c (@cases) {
                my ($args, $status, $msg) = @$c;
                my $r2 = $s->req(PUT => '/shm/v1/admin/user/payment', %A, json => $args);
                is $r2->{status}, $status, "$msg: status";
                is canon($r2), $JSON->encode({ error => $msg, status => $status }), "$msg: body";
            }
            is money_of($s, $adm, $u1), '120 0', 'nothing was paid';
            my $usid = $s->login('payer1', 'Password1');
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', session => $usid,
                json => { user_id => $u1, money => 1000 });
            is $r->{status}, 403, 'a user cannot pay himself: 403';
            is canon($r), '{"error":"Permission denied","status":403}', '403 body';
        };

        subtest 'Test header and dry_run roll back (§14.1 "payment", golden 59)' => sub {
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A, headers => { Test => 1 },
                json => { user_id => $u2, pay_system_id => 'test', money => 123.45,
                          comment => 'Test payment #4' });
            is $r->{status}, 200, 'Test: 200';
            is jenc($r, 'data', 0, 'comment'), '{"comment":"Test payment #4"}', 'Test: comment';
            is jenc($r, 'data', 0, 'uniq_key'), 'null', 'Test: uniq_key null';
            is jenc($r, 'data', 0, 'money'), '123.45', 'Test: money';
            my $test_id = data0($r)->{id};

            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u2, money => 5, dry_run => 1 });
            is $r->{status}, 200, 'dry_run: 200';
            my $dry_id = data0($r)->{id};
            is canon($r),
                qq({"TZ":"UTC","data":[{"comment":null,"date":"$NOW","id":$dry_id,"money":5,)
              . qq("pay_system_id":null,"uniq_key":null,"user_id":$u2}],)
              . qq("date":"Mon May  6 07:08:09 2024","status":200}), 'dry_run: the would-be row';
            is $test_id, 5, 'Test: the would-be id follows the 4 payments';
            is $dry_id, $engine eq 'pg' ? 6 : 5,
                'dry_run: would-be id (PostgreSQL sequences do not roll back)';
            is money_of($s, $adm, $u2), '0 0', 'nothing committed: balance';
            is_deeply tasks_of($s, $u2), [], 'nothing committed: no task';
            is_deeply [ $s->sql("SELECT count(*) FROM pays_history WHERE user_id = $u2") ], [0],
                'nothing committed: no payment';
            ledger_ok($s, 'rolled back');
        };

        subtest 'uniq_key: applied once (D8)' => sub {
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u2, money => 50, pay_system_id => 'telegram_bot',
                          uniq_key => 'tg-charge-1' });
            is $r->{status}, 200, 'first: 200';
            my $first = canon($r);
            $tg_id = data0($r)->{id};
            is $tg_id, $engine eq 'pg' ? 7 : 5, 'ids: SQLite reuses rolled-back ids, PostgreSQL not';
            is jenc($r, 'data', 0, 'uniq_key'), '"tg-charge-1"', 'uniq_key shown to admins';
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u2, money => 70, pay_system_id => 'other',
                          uniq_key => 'tg-charge-1' });
            is $r->{status}, 200, 'repeat: 200';
            is canon($r), $first, 'repeat: the first payment, unchanged';
            is money_of($s, $adm, $u2), '50 0', 'balance changed once';
            is scalar @{ tasks_of($s, $u2) }, 1, 'one PAYMENT task';
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u1, money => 1, uniq_key => 'tg-charge-1' });
            is $r->{status}, 200, 'another user may use the same key';
            is data0($r)->{id}, $tg_id + ($engine eq 'pg' ? 2 : 1),
                "another user's key: a new payment (on PostgreSQL the repeat's insert used an id)";
            is money_of($s, $adm, $u1), '121 0', 'the other user is credited';
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u2, money => 1, uniq_key => 12345 });
            is jenc($r, 'data', 0, 'uniq_key'), '"12345"', 'a numeric key is stored as text';
            $num_id = data0($r)->{id};
            ledger_ok($s, 'uniq_key');
        };

        subtest 'uniq_key under parallel duplicates' => sub {
            my $u3 = mkuser($s, $adm, 'payer3');
            my $body = $JSON->encode({ user_id => $u3, money => 10, pay_system_id => 'race',
                                       uniq_key => 'race-1' });
            my @res = parallel($s, 8, 'PUT', '/shm/v1/admin/user/payment',
                { 'session-id' => $adm, 'content-type' => 'application/json' }, $body);
            is_deeply [ map { $_->{status} } @res ], [ (200) x 8 ], 'all eight answered 200';
            my %ids = map { ($JSON->decode($_->{body})->{data}[0]{id} // 'none') => 1 } @res;
            is scalar(keys %ids), 1, 'all got the same payment';
            is_deeply [ $s->sql("SELECT count(*) FROM pays_history WHERE user_id = $u3") ], [1],
                'exactly one payment row';
            is money_of($s, $adm, $u3), '10 0', 'balance increased once';
            is scalar @{ tasks_of($s, $u3) }, 1, 'one PAYMENT task';
            is_deeply [ $s->sql("SELECT count(*) FROM ledger WHERE user_id = $u3") ], [1],
                'one ledger row';
            ledger_ok($s, 'parallel duplicates');
        };

        subtest 'partner rewards (§18)' => sub {
            my $p1 = mkuser($s, $adm, 'partner1');
            my $p2 = mkuser($s, $adm, 'partner2');
            my $ref1 = mkuser($s, $adm, 'ref1');
            my $ref2 = mkuser($s, $adm, 'ref2');
            for ([ $ref1, $p1 ], [ $ref2, $p2 ]) {
                $r = $s->req(POST => '/shm/v1/admin/user', %A,
                    json => { user_id => $_->[0], partner_id => $_->[1] });
                is $r->{status}, 200, "partner of $_->[0] set";
            }
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $ref1, money => 100 });
            is money_of($s, $adm, $p1), '0 0', 'configured percent 0 (seed): no reward';

            $s->sql(q{UPDATE config SET value = '{"type":"Simpler","partner":{"income_percent":20},"currency":"RUB"}' WHERE key = 'billing'});
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $ref1, money => 100 });
            is money_of($s, $adm, $p1), '0 20', 'dev-seed vector: 100 at 20 % gives 20 bonus';
            is money_of($s, $adm, $ref1), '200 0', 'the payer keeps the whole payment';
            $r = $s->req(GET => '/shm/v1/admin/user/bonus', %A, query => { user_id => $p1 });
            is jenc($r, 'items'), '1', 'one bonus-history row';
            is jenc($r, 'data', 0, 'comment'),
                qq({"from_user_id":$ref1,"payment":100,"percent":20}), 'comment';
            is jenc($r, 'data', 0, 'bonus'), '20', 'bonus 20';
            is jenc($r, 'data', 0, 'date'), qq("$NOW"), 'date';
            my $bonus_id = data0($r)->{id};
            is_deeply tasks_of($s, $p1), [ {
                event => { kind => 'UserService', method => 'activate_services', name => 'BONUS',
                           title => 'user payment with bonuses' },
                prio => 100, status => 'NEW', settings => { bonus_id => $bonus_id },
                delayed => 0 } ], "the partner's BONUS task";

            $r = $s->req(POST => '/shm/v1/admin/user', %A,
                json => { user_id => $p2, settings => { partner => { income_percent => 50 } } });
            is $r->{status}, 200, 'personal percent 50 set';
            $s->req(PUT => '/shm/v1/admin/user/payment', %A, json => { user_id => $ref2, money => 100 });
            is money_of($s, $adm, $p2), '0 50', 'personal 50 % gives 50';
            $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $ref2, money => '0.03' });
            is money_of($s, $adm, $p2), '0 50.02', '0.03 at 50 % = 0.015 rounds half up to 0.02';
            $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $ref2, money => -100 });
            is money_of($s, $adm, $p2), '0 50.02', 'a refund takes no reward back';
            $s->sql(q{UPDATE config SET value = '{"type":"Simpler","partner":{"income_percent":0},"currency":"RUB"}' WHERE key = 'billing'});
            ledger_ok($s, 'partner rewards');
        };

        subtest 'lists (R57, R103; golden 35)' => sub {
            my $usid = $s->login('payer2', 'Password1');
            $r = $s->req(GET => '/shm/v1/user/pay', session => $usid);
            is $r->{status}, 200, 'user list: 200';
            is jenc($r, 'items'), '2', 'user list: own payments only';
            is jenc($r, 'data'),
                qq([{"date":"$NOW","id":$num_id,"money":1,"pay_system_id":null,"user_id":$u2},)
              . qq({"date":"$NOW","id":$tg_id,"money":50,"pay_system_id":"telegram_bot",)
              . qq("user_id":$u2}]),
                'user list: id descending, comment and uniq_key hidden';
            is jenc($r, 'limit'), '25', 'limit 25';
            $r = $s->req(GET => '/shm/v1/user/pay', session => $usid, query => { user_id => $u1 });
            is jenc($r, 'items'), '2', "a user's user_id argument is ignored";

            $r = $s->req(GET => '/shm/v1/admin/user/pay', %A);
            is $r->{status}, 200, 'admin list: 200';
            is jenc($r, 'items'), '13', 'admin list: every payment (13 committed)';
            ok exists data0($r)->{uniq_key}, 'admin list: hidden fields shown';
            $r = $s->req(GET => '/shm/v1/admin/user/pay', %A, query => { user_id => $u2 });
            is jenc($r, 'items'), '2', 'admin list for user_id';
            $r = $s->req(GET => '/shm/v1/admin/user/pay', %A,
                query => { filter => '{"pay_system_id":"manual%"}', sort_field => 'id',
                           sort_direction => 'asc' });
            is_deeply [ map { $_->{pay_system_id} } @{ $r->{json}{data} } ],
                [qw(manual manual-refund manual-canceled)], 'filter and sort';
            $r = $s->req(GET => '/shm/v1/admin/user/pay', %A, query => { user_id => 'x' });
            is canon($r), '{"error":"Field user_id: expected a positive integer","status":400}',
                'admin list: bad user_id';
            $r = $s->req(GET => '/shm/v1/admin/user/pay', %A, query => { filter => '{"nope":1}' });
            is $r->{status}, 400, 'unknown filter column: 400 (D26)';
            $r = $s->req(GET => '/shm/v1/admin/user/pay', session => $usid);
            is $r->{status}, 403, 'admin list as a user: 403';
        };

        subtest 'delete (R104)' => sub {
            $r = $s->req(DELETE => '/shm/v1/admin/user/pay', %A, query => { user_id => $u2 });
            is canon($r), '{"error":"Field required: id","status":400}', 'id required';
            $r = $s->req(DELETE => '/shm/v1/admin/user/pay', %A, query => { id => $tg_id });
            is canon($r), '{"error":"Field required: user_id","status":400}', 'user_id required';
            $r = $s->req(DELETE => '/shm/v1/admin/user/pay', %A, query => { user_id => $u1, id => $tg_id });
            is $r->{status}, 404, "another user's payment: 404";
            is canon($r), '{"error":"Object not found. Check the ID.","status":404}', '404 body';
            $r = $s->req(DELETE => '/shm/v1/admin/user/pay', %A, query => { user_id => $u2, id => $tg_id });
            is $r->{status}, 200, 'delete: 200';
            is jenc($r, 'data'), '[]', 'delete: empty data';
            is money_of($s, $adm, $u2), '51 0', 'the balance is not changed';
            $r = $s->req(GET => '/shm/v1/admin/user/pay', %A, query => { user_id => $u2 });
            is jenc($r, 'items'), '1', 'the row is gone';
            is_deeply [ $s->sql("SELECT count(*) FROM ledger WHERE user_id = $u2") ], [2],
                "the payment's ledger row stays (D7)";
            ledger_ok($s, 'after a delete');

            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A,
                json => { user_id => $u2, money => 50, uniq_key => 'tg-charge-1' });
            is $r->{status}, 200, 'retry of the deleted payment: 200';
            is jenc($r, 'data', 0, 'id'), "$tg_id", 'retry: the deleted payment is returned';
            is money_of($s, $adm, $u2), '51 0', 'retry: not credited again (D8)';
            $r = $s->req(DELETE => '/shm/v1/admin/user/pay', %A, query => { user_id => $u2, id => $tg_id });
            is $r->{status}, 404, 'second delete: 404';
            ledger_ok($s, 'retry after a delete');
        };

        ledger_ok($s, 'end of the scenarios');
        $s->stop;
    };
}

done_testing;
