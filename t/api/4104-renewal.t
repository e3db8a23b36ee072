# The renewal pass (issue 4 item 10): POST /shm/v1/admin/billing/renew and `billd renew`
# renew every due service once — continuous renewal, nothing charged twice — and a
# `billd renew` killed with SIGKILL in the middle of a pass leaves a consistent database
# that the next pass completes (DECISIONS D10). Simpler, UTC, test clock.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(usleep);

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine, env => { BILLD_TEST_CLOCK => 1 });
        my %A = (session => $s->admin_session);
        my $ok = sub {
            my ($r, $what) = @_;
            is $r->{status}, 200, $what or diag $r->{body};
            return data0($r);
        };
        my %env = (DATABASE_URL => $s->db_url, BILLD_SECRET_KEY => '5eed' x 16,
                   BILLD_TEST_CLOCK => 1, TZ => 'UTC', LOG_LEVEL => 'error');
        my $billd = sub {
            local @ENV{ keys %env } = values %env;
            my $out = `"$ENV{BILLD_BIN}" @_ 2>&1`;
            return ($? >> 8, $out);
        };

        $ok->($s->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => '2026-01-01 00:00:00' }),
            'clock');
        my $svc = $ok->($s->req(PUT => '/shm/v1/admin/service', %A,
            json => { name => 'Box', cost => 1, period => 1, category => 'box' }), 'service')->{service_id};
        my $u = $ok->($s->req(PUT => '/shm/v1/admin/user', %A,
            json => { login => 'renewer', password => 'Password1' }), 'user')->{user_id};
        my $N = 120;
        $ok->($s->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $u, balance => 3 * $N }),
            "balance for 3 periods of $N services");
        my @usi;
        for (1 .. $N) {
            my $r = $s->req(PUT => '/shm/v1/admin/service/order', %A,
                json => { user_id => $u, service_id => $svc });
            push @usi, data0($r)->{user_service_id} if $r->{status} == 200;
        }
        is scalar @usi, $N, "$N services ordered";
        my $balance = sub {
            ($s->sql("SELECT balance FROM users WHERE user_id = $u"))[0];
        };
        is $balance->(), 2 * $N * 100, 'one period charged each';

        # nothing is due yet
        my $st = $ok->($s->req(POST => '/shm/v1/admin/billing/renew', %A), 'renew: nothing due');
        is_deeply $st, { due => 0, touched => 0, failed => 0 }, 'no service due';

        # a month later every service is due: one pass renews each exactly once
        $ok->($s->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => '2026-02-05 00:00:00' }),
            'clock +35 days');
        $st = $ok->($s->req(POST => '/shm/v1/admin/billing/renew', %A), 'renew pass');
        is $st->{due}, $N, "$N due";
        is $st->{failed}, 0, 'none failed';
        is $balance->(), $N * 100, 'second period charged once each';
        my ($expires) = $s->sql("SELECT count(DISTINCT expire) FROM user_services WHERE user_id = $u");
        my ($future) = $s->sql("SELECT count(*) FROM user_services WHERE user_id = $u AND expire > "
            . "(SELECT max(create_date) FROM withdraw_history)");
        is $future, $N, 'every expire moved past now';
        $st = $ok->($s->req(POST => '/shm/v1/admin/billing/renew', %A), 'renew again');
        is $st->{due}, 0, 'a second pass finds nothing due';
        is $balance->(), $N * 100, 'nothing charged twice';

        # kill -9 in the middle of `billd renew`, then re-run: each service renewed once
        my @cmd = ($ENV{BILLD_BIN}, 'renew', '--batch', 1, '--now', '2026-03-10 00:00:00');
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            @ENV{ keys %env } = values %env;
            open STDOUT, '>', '/dev/null';
            open STDERR, '>', '/dev/null';
            exec @cmd or POSIX::_exit(127);
        }
        # kill as soon as the first batches are committed (polling the database)
        my $wd_count = sub { ($s->sql("SELECT count(*) FROM withdraw_history WHERE user_id = $u"))[0] };
        for (1 .. 400) {
            last if $wd_count->() > 2 * $N || waitpid($pid, WNOHANG) > 0;
            usleep(5_000);
        }
        kill 'KILL', $pid;
        waitpid $pid, 0;
        my ($done) = $s->sql("SELECT count(*) FROM withdraw_history WHERE user_id = $u");
        diag sprintf 'the killed pass had committed %d of %d renewals', $done - 2 * $N, $N;
        my ($rc, $out) = $billd->('renew', '--batch', 3, '--now', "'2026-03-10 00:00:00'");
        is $rc, 0, 'the re-run pass succeeds' or diag $out;
        like $out, qr/renewal pass: \d+ due, \d+ renewed or processed, 0 failed/, 're-run output';
        is $balance->(), 0, 'third period charged exactly once each: balance 0';
        my ($wd) = $s->sql("SELECT count(*) FROM withdraw_history WHERE user_id = $u");
        is $wd, 3 * $N, 'three withdraws per service';
        my ($bad) = $s->sql("SELECT count(*) FROM (SELECT user_service_id FROM withdraw_history"
            . " WHERE user_id = $u GROUP BY user_service_id HAVING count(*) <> 3) x");
        is $bad, 0, 'no service has more or fewer than three';

        ($rc, $out) = $billd->('check');
        is $rc, 0, 'billd check passes' or diag $out;

        # a service whose touch fails (its catalogue service is gone) is rolled back alone:
        # the batch is run again with a savepoint per service and the others are renewed once;
        # due services read 7 at a time, so all but the first chunk are read in id order
        $ok->($s->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $u, balance => $N }),
            "balance for one more period of $N services");
        my $broken = $usi[7];
        $s->sql("UPDATE user_services SET service_id = 999999 WHERE user_service_id = $broken");
        ($rc, $out) = $billd->('renew', '--batch', 50, '--chunk', 7, '--now', "'2026-04-10 00:00:00'");
        is $rc, 0, 'a pass with a failing service succeeds' or diag $out;
        my $left = $N - 1;
        like $out, qr/renewal pass: $N due, $left renewed or processed, 1 failed/,
            'one failed, the others renewed';
        is $balance->(), 100, 'the failing service charged nothing, the others one period';
        ($bad) = $s->sql("SELECT count(*) FROM (SELECT user_service_id, count(*) AS n FROM"
            . " withdraw_history WHERE user_id = $u GROUP BY user_service_id) x WHERE"
            . " n <> CASE WHEN user_service_id = $broken THEN 3 ELSE 4 END");
        is $bad, 0, 'four withdraws per renewed service, three for the failing one';
        ($rc, $out) = $billd->('check');
        is $rc, 0, 'billd check passes after the failing service' or diag $out;
        $s->sql("UPDATE user_services SET service_id = $svc WHERE user_service_id = $broken");

        ($rc, $out) = $billd->('renew', '--now', "'bad'");
        is $rc, 2, 'a bad --now is a usage error';
        $s->stop;
    };
}

done_testing;
