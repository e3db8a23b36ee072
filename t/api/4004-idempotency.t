# The Idempotency-Key header (DECISIONS D8, Stripe semantics; src/api/idempotency.c): the first
# committed response of a writing call is stored and replayed byte for byte; the same key with
# another request is a 422; keys belong to the caller; failed, dry_run and Test requests store
# nothing; GETs ignore the header; parallel requests with one key run the handler once.
# `billd check` ends every scenario.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $JSON   = JSON::PP->new->canonical->allow_nonref;
my $PAY    = '/shm/v1/admin/user/payment';
my $REUSED = '{"error":"Idempotency-Key reused with a different request","status":422}';

sub ledger_ok {
    my ($s, $what) = @_;
    local $ENV{DATABASE_URL}     = $s->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

sub money_of {
    my ($s, $adm, $uid) = @_;
    my $r = $s->req(GET => '/shm/v1/admin/user', session => $adm, query => { user_id => $uid });
    return jenc($r, 'data', 0, 'balance') // 'undef';
}

sub count_sql { my ($s, $sql) = @_; my ($n) = $s->sql($sql); return $n }

# Sends one request per element of @$bodies from forked clients at once; returns
# [{status, body, replayed}] in the same order.
sub parallel {
    my ($s, $method, $path, $headers, $bodies) = @_;
    my $start = time + 0.5;
    my @kids;
    for my $body (@$bodies) {
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $rd;
            my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
            sleep 0.002 while time < $start;
            my $res = $http->request($method, $s->base . $path,
                { headers => $headers, content => $body });
            print {$wr} $JSON->encode({ status => $res->{status}, body => $res->{content},
                replayed => $res->{headers}{'idempotent-replayed'} // '' });
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
        $s->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => '2024-05-06 07:08:09' });
        my $r = $s->req(PUT => '/shm/v1/admin/user', %A,
            json => { login => 'idem1', password => 'Password1' });
        my $uid = $r->{json}{data}[0]{user_id};
        my $key = sub { (headers => { 'Idempotency-Key' => $_[0] }) };

        subtest 'replay' => sub {
            my $first = $s->req(PUT => $PAY, %A, $key->('k1'), json => { user_id => $uid, money => 7 });
            is $first->{status}, 200, 'first: 200';
            ok !exists $first->{headers}{'idempotent-replayed'}, 'first: not a replay';
            $s->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => '2024-05-06 09:00:00' });
            my $again = $s->req(PUT => $PAY, %A, $key->('k1'), json => { user_id => $uid, money => 7 });
            is $again->{status}, 200, 'repeat: 200';
            is $again->{body}, $first->{body}, 'repeat: the stored body, byte for byte (old date)';
            is $again->{headers}{'idempotent-replayed'}, 'true', 'repeat: Idempotent-Replayed';
            is $again->{headers}{'content-type'}, 'application/json; charset=utf-8', 'content type';
            is money_of($s, $adm, $uid), '7', 'paid once';
            is count_sql($s, "SELECT count(*) FROM pays_history WHERE user_id = $uid"), 1, 'one row';

            my $adm2 = $s->login('admin', BilldTest::ADMIN_PASSWORD);
            $r = $s->req(PUT => $PAY, session => $adm2, $key->('k1'),
                json => { user_id => $uid, money => 7 });
            is $r->{body}, $first->{body}, 'another session of the same caller: replay';
            $r = $s->req(PUT => $PAY, %A, $key->('k1'), query => { user_id => $uid, money => 7 });
            is canon($r), $REUSED, 'the arguments as query-string text are another request: 422';
            ledger_ok($s, 'replay');
        };

        subtest 'reuse with another request: 422' => sub {
            for my $c ([ PUT => $PAY, { user_id => $uid, money => 8 } ],
                       [ PUT => $PAY, { user_id => $uid, money => 7, comment => 'x' } ],
                       [ POST => '/shm/v1/admin/user', { user_id => $uid, money => 7 } ],
                       [ DELETE => '/shm/v1/admin/user/pay', { user_id => $uid, id => 999 } ]) {
                my ($m, $p, $args) = @$c;
                $r = $s->req($m => $p, %A, $key->('k1'), json => $args);
                is $r->{status}, 422, "$m $p: 422";
                is canon($r), $REUSED, "$m $p: body";
            }
            is money_of($s, $adm, $uid), '7', 'nothing ran';
            $r = $s->req(DELETE => '/shm/v1/admin/user/pay', %A, $key->('k1'), json => { user_id => $uid });
            is canon($r), '{"error":"Field required: id","status":400}',
                'missing required arguments are refused before the key is looked at';
        };

        subtest 'keys belong to the caller' => sub {
            my $usid = $s->login('idem1', 'Password1');
            $r = $s->req(POST => '/shm/v1/user', session => $usid, $key->('k1'),
                json => { full_name => 'Idem' });
            is $r->{status}, 200, "the user's own k1 runs";
            is $r->{json}{data}[0]{full_name}, 'Idem', 'updated';
            ok !exists $r->{headers}{'idempotent-replayed'}, 'not a replay';
            $r = $s->req(POST => '/shm/v1/user', session => $usid, $key->('k1'),
                json => { full_name => 'Idem' });
            is $r->{headers}{'idempotent-replayed'}, 'true', "the user's k1 replays";
        };

        subtest 'failed, dry_run and Test requests store nothing' => sub {
            $r = $s->req(PUT => $PAY, %A, $key->('k-fail'), json => { user_id => $uid, money => '1.234' });
            is $r->{status}, 400, 'failed: 400';
            $r = $s->req(PUT => $PAY, %A, $key->('k-fail'), json => { user_id => $uid, money => '1.234' });
            is $r->{status}, 400, 'failed again: 400';
            ok !exists $r->{headers}{'idempotent-replayed'}, 'it ran again (no replay)';
            $r = $s->req(PUT => $PAY, %A, $key->('k-fail'), json => { user_id => $uid, money => 1 });
            is $r->{status}, 200, 'the corrected request under the same key: 200 (not 422)';

            $r = $s->req(PUT => $PAY, %A, $key->('k-dry'), json => { user_id => $uid, money => 2, dry_run => 1 });
            is $r->{status}, 200, 'dry_run: 200';
            $r = $s->req(PUT => $PAY, %A, $key->('k-dry'), json => { user_id => $uid, money => 2 });
            is $r->{status}, 200, 'then for real: 200';
            ok !exists $r->{headers}{'idempotent-replayed'}, 'ran (the dry run was not stored)';
            $r = $s->req(PUT => $PAY, %A, $key->('k-dry'), json => { user_id => $uid, money => 2, dry_run => 1 });
            is $r->{status}, 200, 'a dry run with a used key still runs dry (no 422)';

            $r = $s->req(PUT => $PAY, %A, headers => { 'Idempotency-Key' => 'k-test', Test => 1 },
                json => { user_id => $uid, money => 4 });
            is $r->{status}, 200, 'Test: 200';
            $r = $s->req(PUT => $PAY, %A, $key->('k-test'), json => { user_id => $uid, money => 4 });
            ok !exists $r->{headers}{'idempotent-replayed'}, 'then for real: ran';
            is money_of($s, $adm, $uid), '14', '7 + 1 + 2 + 4: each applied once';
            is count_sql($s, "SELECT count(*) FROM idempotency_keys"), 5,
                'stored: k1 (admin), k1 (user), k-fail, k-dry, k-test';
            ledger_ok($s, 'failed and dry');
        };

        subtest 'header checks' => sub {
            $r = $s->req(PUT => $PAY, %A, $key->('x' x 256), json => { user_id => $uid, money => 1 });
            is $r->{status}, 400, 'a 256-character key: 400';
            is canon($r),
                '{"error":"Idempotency-Key must be 1 to 255 printable ASCII characters","status":400}',
                'body';
            $r = $s->req(PUT => $PAY, %A, $key->('y' x 255), json => { user_id => $uid, money => 1 });
            is $r->{status}, 200, 'a 255-character key: 200';
            for (1 .. 2) {
                $r = $s->req(GET => '/shm/v1/admin/user/pay', %A, $key->('k1'));
                is $r->{status}, 200, "GET with a used key: 200 ($_)";
                ok !exists $r->{headers}{'idempotent-replayed'}, "GET: header ignored ($_)";
            }
            $r = $s->req(PUT => '/shm/v1/user', $key->('anon'),
                json => { login => 'idem2', password => 'Password1' });
            is $r->{status}, 200, 'anonymous registration: the header is ignored';
            is count_sql($s, "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'anon'"), 0,
                'nothing stored for anonymous callers';
        };

        subtest 'raw bodies are part of the request' => sub {
            my $usid = $s->login('idem1', 'Password1');
            my %U = (session => $usid, type => 'text/plain');
            $r = $s->req(PUT => '/shm/v1/storage/manage/idem', %U, $key->('k-raw'), body => 'one');
            is $r->{status}, 200, 'raw write: 200';
            my $body = $r->{body};
            $r = $s->req(PUT => '/shm/v1/storage/manage/idem', %U, $key->('k-raw'), body => 'one');
            is $r->{body}, $body, 'same bytes: replay';
            is $r->{headers}{'idempotent-replayed'}, 'true', 'replay header';
            is $r->{headers}{'content-type'}, 'text/plain; charset=utf-8', 'replayed content type';
            $r = $s->req(PUT => '/shm/v1/storage/manage/idem', %U, $key->('k-raw'), body => 'two');
            is canon($r), $REUSED, 'other bytes: 422';
            $r = $s->req(GET => '/shm/v1/storage/manage/idem', session => $usid);
            is $r->{body}, 'one', 'the entry holds the first body';
        };

        subtest 'parallel requests with one key run once' => sub {
            my $body = $JSON->encode({ user_id => $uid, money => 100 });
            my %h = ('session-id' => $adm, 'content-type' => 'application/json',
                     'idempotency-key' => 'race-same');
            my @res = parallel($s, 'PUT', $PAY, \%h, [ ($body) x 6 ]);
            is_deeply [ map { $_->{status} } @res ], [ (200) x 6 ], 'all six: 200';
            is scalar(grep { $_->{replayed} eq 'true' } @res), 5, 'five replays';
            my %bodies = map { $_->{body} => 1 } @res;
            is scalar(keys %bodies), 1, 'one body for all';
            is money_of($s, $adm, $uid), '115', 'paid once (14 + 1 + 100)';

            $h{'idempotency-key'} = 'race-diff';
            @res = parallel($s, 'PUT', $PAY, \%h,
                [ map { $JSON->encode({ user_id => $uid, money => $_ }) } 1 .. 4 ]);
            is_deeply [ sort map { $_->{status} } @res ], [ 200, 422, 422, 422 ],
                'different requests: one runs, three 422';
            my ($won) = grep { $_->{status} == 200 } @res;
            my $money = $JSON->decode($won->{body})->{data}[0]{money};
            is money_of($s, $adm, $uid), 115 + $money, 'only the winner was paid';
            is count_sql($s, "SELECT count(*) FROM idempotency_keys WHERE idem_key LIKE 'race-%'"),
                2, 'one stored response per key';
            ledger_ok($s, 'parallel');
        };

        ledger_ok($s, 'end of the scenarios');
        $s->stop;
    };
}

done_testing;
