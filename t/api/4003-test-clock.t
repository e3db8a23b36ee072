# The test clock (DECISIONS D5): GET/POST /shm/v1/admin/test/clock exist only with
# BILLD_TEST_CLOCK=1 (otherwise 404 as an unknown route), need an admin, freeze "now" at a
# local time in TZ for the whole process (payments, envelope dates, spool rows), may move it
# backwards and return to the real clock with null.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);
use POSIX qw(strftime);
use Time::HiRes qw(sleep);

my $CLOCK = '/shm/v1/admin/test/clock';

sub ledger_ok {
    my ($s, $what) = @_;
    local $ENV{DATABASE_URL}     = $s->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

# Local time strings of the real clock just before and after running $code.
sub real_now_around {
    my ($code) = @_;
    local $ENV{TZ} = 'Europe/Moscow';
    POSIX::tzset();
    my $before = strftime('%Y-%m-%d %H:%M:%S', localtime);
    my $r = $code->();
    my $after = strftime('%Y-%m-%d %H:%M:%S', localtime);
    return ($r, $before, $after);
}

for my $engine (engines()) {
    subtest "$engine: without BILLD_TEST_CLOCK" => sub {
        my $s = BilldTest->start(engine => $engine, env => { BILLD_TEST_CLOCK => undef });
        my $adm = $s->admin_session;
        for my $req ([ GET => {} ], [ POST => { json => { now => '2024-01-01 00:00:00' } } ]) {
            my ($m, $o) = @$req;
            my $r = $s->req($m => $CLOCK, %$o);
            is $r->{status}, 404, "$m anonymous: 404";
            is canon($r), '{"error":"Method not found","status":404}', "$m anonymous: body";
            $r = $s->req($m => $CLOCK, session => $adm, %$o);
            is $r->{status}, 404, "$m as admin: 404";
            is canon($r), '{"error":"Method not found","status":404}', "$m as admin: body";
        }
        my $r = $s->req(GET => '/shm/v1/swagger_admin.json');
        unlike $r->{body}, qr{test/clock}, 'not in the OpenAPI document';
        $s->stop;
    };

    subtest "$engine: with BILLD_TEST_CLOCK=1" => sub {
        my $s = BilldTest->start(engine => $engine,
            env => { BILLD_TEST_CLOCK => 1, TZ => 'Europe/Moscow' });
        my $adm = $s->admin_session;
        my %A   = (session => $adm);
        my $r = $s->req(PUT => '/shm/v1/admin/user', %A,
            json => { login => 'clockuser', password => 'Password1' });
        my $uid = $r->{json}{data}[0]{user_id};

        subtest 'access' => sub {
            $r = $s->req(GET => $CLOCK);
            is $r->{status}, 401, 'anonymous: 401';
            is canon($r), '{"msg":"Not authorized","status":401}', 'anonymous: body';
            my $usid = $s->login('clockuser', 'Password1');
            $r = $s->req(POST => $CLOCK, session => $usid, json => { now => '2020-01-01 00:00:00' });
            is $r->{status}, 403, 'user: 403';
            is canon($r), '{"error":"Permission denied","status":403}', 'user: body';
        };

        subtest 'real clock by default' => sub {
            my ($res, $before, $after) = real_now_around(sub { $s->req(GET => $CLOCK, %A) });
            is $res->{status}, 200, 'status 200';
            is jenc($res, 'data', 0, 'frozen'), 'false', 'not frozen';
            my $now = $res->{json}{data}[0]{now};
            ok $now ge $before && $now le $after, "now ($now) is the real local time";
        };

        subtest 'freeze' => sub {
            $r = $s->req(POST => $CLOCK, %A, json => { now => '2024-02-29 13:14:15' });
            is $r->{status}, 200, 'status 200';
            is canon($r),
                '{"TZ":"Europe/Moscow","data":[{"frozen":true,"now":"2024-02-29 13:14:15"}],'
              . '"date":"Thu Feb 29 13:14:15 2024","status":200}', 'exact body';
            sleep 1.1;
            $r = $s->req(GET => $CLOCK, %A);
            is jenc($r, 'data', 0, 'now'), '"2024-02-29 13:14:15"', 'a real second later: same second';
            $r = $s->req(GET => '/shm/v1/healthcheck');
            is jenc($r, 'date'), '"Thu Feb 29 13:14:15 2024"', "the healthcheck's envelope date follows";

            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A, json => { user_id => $uid, money => 10 });
            is jenc($r, 'data', 0, 'date'), '"2024-02-29 13:14:15"', 'payments get the frozen date';
            # 13:14:15 in Moscow (UTC+3) is 10:14:15 UTC
            is_deeply [ $s->sql("SELECT date FROM pays_history WHERE user_id = $uid") ], [1709201655],
                'stored as UTC seconds';
            is_deeply [ $s->sql("SELECT created FROM spool WHERE user_id = $uid") ], [1709201655],
                'the PAYMENT task too';
            is_deeply [ $s->sql("SELECT created FROM ledger WHERE user_id = $uid") ], [1709201655],
                'and the ledger row';
        };

        subtest 'backwards' => sub {
            $r = $s->req(POST => $CLOCK, %A, form => { now => '2001-09-09 05:46:40' });
            is jenc($r, 'data', 0, 'now'), '"2001-09-09 05:46:40"', 'moved back (form-encoded)';
            $r = $s->req(PUT => '/shm/v1/admin/user/payment', %A, json => { user_id => $uid, money => 1 });
            is jenc($r, 'data', 0, 'date'), '"2001-09-09 05:46:40"', 'payment dated in the past';
            # 05:46:40 in Moscow's summer time of 2001 (UTC+4) is Unix second 1000000000
            is_deeply [ $s->sql("SELECT date FROM pays_history WHERE user_id = $uid ORDER BY id") ],
                [ 1709201655, 1000000000 ], 'stored as that UTC second';
        };

        subtest 'bad input' => sub {
            for my $c ([ {}, 'Field required: now' ],
                       [ { now => '2024-02-30 00:00:00' }, 'Field now: expected a date YYYY-MM-DD HH:MM:SS or null' ],
                       [ { now => 'tomorrow' }, 'Field now: expected a date YYYY-MM-DD HH:MM:SS or null' ],
                       [ { now => 1700000000 }, 'Field now: expected a date YYYY-MM-DD HH:MM:SS or null' ]) {
                $r = $s->req(POST => $CLOCK, %A, json => $c->[0]);
                is $r->{status}, 400, "$c->[1]: 400";
                is canon($r), qq({"error":"$c->[1]","status":400}), "$c->[1]: body";
            }
            $r = $s->req(GET => $CLOCK, %A);
            is jenc($r, 'data', 0, 'now'), '"2001-09-09 05:46:40"', 'the clock did not move';
        };

        subtest 'back to the real clock' => sub {
            my ($res, $before, $after) = real_now_around(
                sub { $s->req(POST => $CLOCK, %A, json => { now => undef }) });
            is $res->{status}, 200, 'status 200';
            is jenc($res, 'data', 0, 'frozen'), 'false', 'not frozen';
            my $now = $res->{json}{data}[0]{now};
            ok $now ge $before && $now le $after, "now ($now) is the real local time again";
        };

        ledger_ok($s, 'test clock');
        $s->stop;
    };
}

done_testing;
