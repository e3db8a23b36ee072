# The spool (spool.md §4–§6, §9; api.md R141–R147; DECISIONS D5, D9, D10; docs/spool.md)
# with workers inside `billd serve` and the local transport, on both engines under the test
# clock: ordering a service whose events are bound to a local server group (PROGRESS →
# ACTIVE, server bound, BLOCK, REMOVE), children's tasks before the parent's, a failing task
# retried on the schedule as the clock moves (same token, attempt + 1), manual actions
# (pause/resume/retry/success, unknown action), statuses, periodic Jobs only on request
# under the test clock, re-activation of a blocked service by a payment (plus the task of an
# `events` row bound to PAYMENT), the forecast job queuing FORECAST, and kill -9 of
# billd while a task runs (after a restart it completes exactly once). `billd check` ends
# the money scenarios.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines jenc);
use JSON::PP;
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->canonical->allow_nonref;
my ($S, %A);

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub ok_req {
    my ($method, $path, $json, $what) = @_;
    my $r = $S->req($method => "/shm/v1$path", %A, json => $json);
    is $r->{status}, 200, $what // "$method $path" or diag $r->{body};
    return $r;
}

sub clock { ok_req(POST => '/admin/test/clock', { now => $_[0] }, "clock $_[0]") }

# Polls $cond (returns true when done) for up to 20 s; fails the test when it never holds.
sub wait_until {
    my ($what, $cond) = @_;
    my $deadline = time + 20;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return ok(0, "timed out waiting for: $what");
}

sub one { my ($sql) = @_; my @r = $S->sql($sql); return $r[0] }

sub us_status { one("SELECT status FROM user_services WHERE user_service_id = $_[0]") // '' }

sub ledger_ok {
    my ($what) = @_;
    local $ENV{DATABASE_URL}     = $S->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

sub mkuser {
    my ($login, $balance) = @_;
    my $r = ok_req(PUT => '/admin/user', { login => $login, password => 'Password1' }, "user $login");
    my $id = data0($r)->{user_id};
    ok_req(POST => '/admin/user', { user_id => $id, balance => $balance }) if $balance;
    return $id;
}

sub mkservice {
    my (%f) = @_;
    my $r = ok_req(PUT => '/admin/service',
        { name => 'svc', period => 1, allow_to_order => 1, cost => 0, %f }, "service $f{category}");
    return data0($r)->{service_id};
}

sub bind_event {
    my ($name, $category, $gid, $template) = @_;
    ok_req(PUT => '/admin/service/event', { title => "$name $category", name => $name,
        server_gid => $gid, settings => { category => $category, template_id => $template } },
        "event $name for $category");
}

sub order {
    my ($uid, $sid) = @_;
    my $r = ok_req(PUT => '/admin/service/order', { user_id => $uid, service_id => $sid }, 'order');
    return data0($r);
}

sub history { # [status, attempt, token] of a task's executions in order
    my ($id) = @_;
    return [ map { [ split /\|/ ] } $S->sql("SELECT status, attempt, token FROM spool_history"
        . " WHERE spool_id = $id ORDER BY id") ];
}

sub task_of_us { one("SELECT id FROM spool WHERE user_service_id = $_[0] ORDER BY id") }

for my $engine (engines()) {
    subtest $engine => sub {
        $S = BilldTest->start(engine => $engine,
            env => { BILLD_TEST_CLOCK => 1, SPOOL_WORKERS => 2, TZ => 'UTC' });
        %A = (session => $S->admin_session);
        clock('2020-01-01 00:00:00');
        $S->sql("INSERT INTO templates (id, data) VALUES ('sp_ok', 'done {{ event_name }}"
            . " us={{ us.id }} attempt={{ task.attempt }}'), ('sp_flaky', '{{ IF }}')");
        my $r = ok_req(PUT => '/admin/server/group', { name => 'local-nodes', transport => 'local' },
            'server group');
        my $gid = data0($r)->{group_id};
        $r = ok_req(PUT => '/admin/server', { server_gid => $gid, name => 'local-1',
            transport => 'local', host => 'localhost' }, 'server');
        my $server = data0($r)->{server_id};

        subtest 'order → PROGRESS → task → ACTIVE; block; remove' => sub {
            bind_event($_, 'vpn', $gid, 'sp_ok') for qw(create block remove);
            my $svc = mkservice(category => 'vpn', cost => 100);
            my $uid = mkuser('spool-vpn', 300);
            my $us = order($uid, $svc);
            my $usi = $us->{user_service_id};
            is $us->{status}, 'PROGRESS', 'the order answers PROGRESS';
            wait_until('CREATE done', sub { us_status($usi) eq 'ACTIVE' });
            is us_status($usi), 'ACTIVE', 'ACTIVE after the task';
            is one("SELECT count(*) FROM spool WHERE user_service_id = $usi"), 0, 'task deleted';
            my ($st, $resp) = split /\|/, one("SELECT status, response FROM spool_history"
                . " WHERE user_service_id = $usi ORDER BY id");
            is $st, 'SUCCESS', 'history SUCCESS';
            is $JSON->decode($resp)->{response}{result}, "done CREATE us=$usi attempt=1",
                'the template ran as the user with us, task and event_name';
            my $r = $S->req(GET => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid, user_service_id => $usi });
            is jenc($r, 'data', 0, 'settings', 'server_id'), $server, 'server bound to the us';
            is one("SELECT services_count FROM servers WHERE server_id = $server"), 1,
                'services_count + 1';

            ok_req(POST => '/admin/user/service/stop', { user_id => $uid, user_service_id => $usi });
            wait_until('BLOCK done', sub { us_status($usi) eq 'BLOCK' });
            is us_status($usi), 'BLOCK', 'BLOCK after its task';
            $r = $S->req(DELETE => '/shm/v1/admin/user/service', %A,
                json => { user_id => $uid, user_service_id => $usi });
            is $r->{status}, 200, 'delete' or diag $r->{body};
            wait_until('REMOVE done', sub { us_status($usi) eq 'REMOVED' });
            is us_status($usi), 'REMOVED', 'REMOVED after its task';
            is one("SELECT services_count FROM servers WHERE server_id = $server"), 0,
                'services_count back to 0';
            is_deeply [ $S->sql("SELECT DISTINCT status FROM spool_history WHERE user_service_id = $usi") ],
                ['SUCCESS'], 'three successful executions';
            ledger_ok('order');
        };

        subtest 'children before parents (billing.md §11.1)' => sub {
            bind_event('create', $_, $gid, 'sp_ok') for qw(kid par);
            my $kid = mkservice(category => 'kid');
            my $par = mkservice(category => 'par', cost => 10, children => [$kid]);
            my $uid = mkuser('spool-tree', 100);
            my $usi = order($uid, $par)->{user_service_id};
            my ($child) = $S->sql("SELECT user_service_id FROM user_services WHERE parent = $usi");
            wait_until('tree ACTIVE', sub { us_status($usi) eq 'ACTIVE' });
            is us_status($child), 'ACTIVE', 'child ACTIVE';
            is us_status($usi), 'ACTIVE', 'parent ACTIVE';
            my $hc = one("SELECT min(id) FROM spool_history WHERE user_service_id = $child");
            my $hp = one("SELECT min(id) FROM spool_history WHERE user_service_id = $usi");
            ok $hc && $hp && $hc < $hp, "the child's task ran first ($hc < $hp)";
            ledger_ok('tree');
        };

        subtest 'a failing task retries on the schedule (D9)' => sub {
            bind_event('create', 'flaky', $gid, 'sp_flaky');
            my $svc = mkservice(category => 'flaky');
            my $uid = mkuser('spool-flaky', 0);
            my $usi = order($uid, $svc)->{user_service_id};
            my $id = task_of_us($usi);
            ok $id, "task $id queued";
            wait_until('first failure', sub { @{ history($id) } == 1 && history($id)->[0][0] eq 'FAIL' });
            my ($status, $delayed) = split /\|/, one("SELECT status, delayed FROM spool WHERE id = $id");
            is "$status $delayed", 'FAIL 3', 'FAIL, retry after 3 s';
            clock('2020-01-01 00:00:03');
            wait_until('second failure', sub { @{ history($id) } == 2 && history($id)->[1][0] eq 'FAIL' });
            is one("SELECT delayed FROM spool WHERE id = $id"), 9, 'then after 9 s';
            $S->sql("UPDATE templates SET data = 'fixed' WHERE id = 'sp_flaky'");
            clock('2020-01-01 00:00:12');
            wait_until('success', sub { us_status($usi) eq 'ACTIVE' });
            my $h = history($id);
            is_deeply [ map { "$_->[0] $_->[1]" } @$h ], [ 'FAIL 1', 'FAIL 2', 'SUCCESS 3' ],
                'attempts 1, 2, 3';
            is scalar(keys %{ { map { $_->[2] => 1 } @$h } }), 1, 'one token for every attempt';
            like $h->[0][2], qr/^[0-9a-f]{32}$/, 'token';
        };

        subtest 'manual actions and statuses (§6.3, R141–R147)' => sub {
            my $uid = mkuser('spool-manual', 0);
            my $r = ok_req(PUT => '/admin/spool', { user_id => $uid, status => 'PAUSED',
                event => { name => 'HAND', settings => { transport => 'local', template_id => 'sp_ok' } } },
                'create a paused task');
            my $t = data0($r);
            my $id = $t->{id};
            is_deeply [ @$t{qw(status prio user_id)} ], [ 'PAUSED', 100, $uid ], 'PAUSED, prio 100';
            is_deeply [ sort keys %$t ], [ sort qw(id user_id user_service_id response event prio
                status created executed delayed settings) ], "SHM's columns";
            $r = $S->req(GET => '/shm/v1/admin/spool/statuses', %A);
            my %st = map { $_->{status} => $_->{cnt} } @{ $r->{json}{data} };
            ok $st{PAUSED} >= 1, 'statuses count PAUSED' or diag $r->{body};
            $r = $S->req(GET => '/shm/v1/admin/spool', %A, query => { filter => $JSON->encode({ id => $id }) });
            is $r->{json}{items}, 1, 'listed';
            ok_req(POST => '/admin/spool/manual/resume', { id => $id }, 'resume');
            wait_until('resumed task ran', sub { !one("SELECT count(*) FROM spool WHERE id = $id") });
            is history($id)->[0][0], 'SUCCESS', 'ran once resumed';

            $r = ok_req(PUT => '/admin/spool', { user_id => $uid,
                event => { name => 'NOWHERE' } }, 'a task without a transport');
            $id = data0($r)->{id};
            wait_until('STUCK', sub { (one("SELECT status FROM spool WHERE id = $id") // '') eq 'STUCK' });
            like one("SELECT response FROM spool WHERE id = $id"), qr/Transport not exists/, 'reason';
            ok_req(POST => '/admin/spool/manual/retry', { id => $id }, 'retry');
            wait_until('STUCK again', sub { @{ history($id) } == 2 });
            wait_until('parked', sub { (one("SELECT status FROM spool WHERE id = $id") // '') eq 'STUCK' });
            is history($id)->[1][1], 2, 'attempt 2';
            ok_req(POST => '/admin/spool/manual/pause', { id => $id }, 'pause');
            is one("SELECT status FROM spool WHERE id = $id"), 'PAUSED', 'PAUSED';
            $r = ok_req(POST => '/admin/spool', { id => $id, prio => 7,
                settings => { user_service_id => 777 } }, 'edit a parked task');
            is_deeply [ @{ data0($r) }{qw(prio status)} ], [ 7, 'PAUSED' ], 'edited';
            is one("SELECT user_service_id FROM spool WHERE id = $id"), 777,
                'the user_service_id column follows the settings';
            $r = $S->req(POST => '/shm/v1/admin/spool/manual/explode', %A, json => { id => $id });
            is $r->{status}, 400, 'unknown action: 400';
            is $r->{json}{error}, 'unknown action', 'message';
            $r = $S->req(POST => '/shm/v1/admin/spool/manual/pause', %A, json => { id => 999999 });
            is $r->{status}, 404, 'unknown task: 404';
            ok_req(POST => '/admin/spool/manual/success', { id => $id }, 'success');
            is one("SELECT count(*) FROM spool WHERE id = $id"), 0, 'success deletes the task';
            is history($id)->[-1][0], 'SUCCESS', 'with a history row';
            $r = $S->req(POST => '/shm/v1/admin/spool', %A, json => { id => 999999, prio => 5 });
            is $r->{status}, 404, 'edit of a missing task: 404';
            $r = $S->req(PUT => '/shm/v1/admin/spool', %A, json => { event => { name => 'X' }, status => 'BOGUS' });
            is $r->{status}, 400, 'bad status: 400';
            $r = $S->req(GET => '/shm/v1/admin/spool/history', %A,
                query => { filter => $JSON->encode({ spool_id => $id }) });
            is $r->{json}{items}, 3, 'history lists the executions';
        };

        subtest 'periodic Jobs run only on request under the test clock (D5)' => sub {
            my $job = one("SELECT id FROM spool WHERE CAST(event AS TEXT) LIKE '%job_cleanup%'");
            ok $job, "job_cleanup is task $job";
            is one("SELECT count(*) FROM spool_history WHERE spool_id = $job"), 0, 'not run by itself';
            ok_req(POST => '/admin/spool/manual/retry', { id => $job }, 'retry job_cleanup');
            wait_until('job ran', sub { (one("SELECT status FROM spool WHERE id = $job") // '') eq 'DELAYED' });
            is one("SELECT delayed FROM spool WHERE id = $job"), 86400, 're-armed for its period';
            is one("SELECT status FROM spool_history WHERE spool_id = $job"), 'SUCCESS', 'SUCCESS';
        };

        subtest 'a payment re-activates a blocked service (§2.3); the forecast job (§9.3)' => sub {
            my $svc = mkservice(category => 'plain', cost => 100);
            my $uid = mkuser('spool-pay', 100);
            my $usi = order($uid, $svc)->{user_service_id};
            is us_status($usi), 'ACTIVE', 'paid and ACTIVE (no commands)';
            clock('2020-03-01 00:00:00');
            ok_req(POST => '/admin/user/service/touch', { user_id => $uid, user_service_id => $usi });
            is us_status($usi), 'BLOCK', 'expired without money: BLOCK';
            ok_req(PUT => '/admin/service/event', { title => 'payment hook', name => 'payment',
                server_gid => $gid, settings => { template_id => 'sp_ok' } }, 'event bound to PAYMENT');
            my $r = ok_req(PUT => '/admin/user/payment', { user_id => $uid, money => 100 }, 'payment');
            wait_until('re-activated', sub { us_status($usi) eq 'ACTIVE' });
            is us_status($usi), 'ACTIVE', 'ACTIVE after the PAYMENT task';
            is one("SELECT balance FROM users WHERE user_id = $uid"), 0, 'balance charged';
            is one("SELECT status FROM spool_history WHERE user_id = $uid AND CAST(event AS TEXT) LIKE '%activate_services%'"),
                'SUCCESS', 'activate_services ran';
            wait_until('the PAYMENT events row ran', sub {
                one("SELECT count(*) FROM spool_history WHERE user_id = $uid AND status = 'SUCCESS'"
                    . " AND CAST(response AS TEXT) LIKE '%done PAYMENT%'") });
            is one("SELECT count(*) FROM spool WHERE user_id = $uid"), 0,
                'the built-in task and the events row task both finished';
            ledger_ok('payment');

            # job_make_forecasts (§9.3): the service expires within 3 days and the balance is 0
            ok_req(PUT => '/admin/service/event', { title => 'forecast mail', name => 'forecast',
                server_gid => $gid, settings => { template_id => 'sp_ok' } }, 'event bound to FORECAST');
            my $expire = one("SELECT expire FROM user_services WHERE user_service_id = $usi");
            my @t = gmtime($expire - 86400);
            clock(sprintf '%04d-%02d-%02d 00:00:00', $t[5] + 1900, $t[4] + 1, $t[3]);
            my $job = one("SELECT id FROM spool WHERE CAST(event AS TEXT) LIKE '%job_make_forecasts%'");
            ok_req(POST => '/admin/spool/manual/retry', { id => $job }, 'retry job_make_forecasts');
            wait_until('forecast job ran', sub { (one("SELECT status FROM spool WHERE id = $job") // '') eq 'DELAYED' });
            like one("SELECT response FROM spool WHERE id = $job"), qr/user_matches.*$uid/, 'the user matched';
            wait_until('FORECAST task ran', sub {
                one("SELECT count(*) FROM spool_history WHERE user_id = $uid AND status = 'SUCCESS'"
                    . " AND CAST(response AS TEXT) LIKE '%done FORECAST%'") });
            like one("SELECT settings FROM users WHERE user_id = $uid"), qr/last_check_date/,
                'last_check_date stored';
        };

        subtest 'a raised credit re-activates a blocked service (CREDIT); registration emits REGISTERED' => sub {
            my $svc = mkservice(category => 'plain', cost => 100);
            clock('2020-07-01 00:00:00');
            my $uid = mkuser('spool-credit', 100);
            my $usi = order($uid, $svc)->{user_service_id};
            clock('2020-09-01 00:00:00');
            ok_req(POST => '/admin/user/service/touch', { user_id => $uid, user_service_id => $usi });
            is us_status($usi), 'BLOCK', 'expired without money: BLOCK';
            my $credit_tasks = sub { one("SELECT count(*) FROM spool_history WHERE user_id = $uid"
                . " AND CAST(event AS TEXT) LIKE '%\"CREDIT\"%'") + one("SELECT count(*) FROM spool"
                . " WHERE user_id = $uid AND CAST(event AS TEXT) LIKE '%\"CREDIT\"%'") };
            ok_req(POST => '/admin/user', { user_id => $uid, comment => 'no credit yet' });
            is $credit_tasks->(), 0, 'an update without credit emits nothing';
            ok_req(POST => '/admin/user', { user_id => $uid, credit => 150 }, 'credit 150');
            wait_until('re-activated by credit', sub { us_status($usi) eq 'ACTIVE' });
            is us_status($usi), 'ACTIVE', 'ACTIVE after the CREDIT task';
            is one("SELECT balance FROM users WHERE user_id = $uid"), -10000, 'charged into the credit';
            like one("SELECT settings FROM spool_history WHERE user_id = $uid"
                . " AND CAST(event AS TEXT) LIKE '%\"CREDIT\"%'"), qr/"credit":\s*150\b/,
                'the task carries the credit';
            ok_req(POST => '/admin/user', { user_id => $uid, credit => 150 }, 'the same credit again');
            is $credit_tasks->(), 1, 'an unchanged credit emits no second CREDIT';
            ledger_ok('credit');

            ok_req(PUT => '/admin/service/event', { title => 'welcome', name => 'registered',
                server_gid => $gid, settings => { template_id => 'sp_ok' } }, 'event bound to REGISTERED');
            my $r = $S->req(PUT => '/shm/v1/user', json => { login => 'spool-newcomer', password => 'Password1' });
            is $r->{status}, 200, 'registered' or diag $r->{body};
            my $new = data0($r)->{user_id};
            wait_until('the REGISTERED events row ran', sub {
                one("SELECT count(*) FROM spool_history WHERE user_id = $new AND status = 'SUCCESS'"
                    . " AND CAST(response AS TEXT) LIKE '%done REGISTERED%'") });
        };
        $S->stop;
    };

    subtest "$engine: kill -9 while a task runs (D10)" => sub {
        $S = BilldTest->start(engine => $engine, env => { BILLD_TEST_CLOCK => 1, SPOOL_WORKERS => 1,
            BILLD_TEST_SPOOL_PAUSE_MS => 60000 });
        %A = (session => $S->admin_session);
        $S->sql("INSERT INTO templates (id, data) VALUES ('sp_once', 'ran {{ task.attempt }}')");
        my $r = ok_req(PUT => '/admin/spool', { user_id => 1,
            event => { name => 'ONCE', settings => { transport => 'local', template_id => 'sp_once' } } });
        my $id = data0($r)->{id};
        wait_until('claimed', sub { one("SELECT claimed_by FROM spool WHERE id = $id") });
        $S->_kill_hard;
        ok !$S->alive, 'billd killed while the task was between execute and finish';
        is_deeply history($id)->[0][0], 'NEW', 'the execution never finished';
        $S->{env}{BILLD_TEST_SPOOL_PAUSE_MS} = undef;
        $S->{port} = BilldTest::_free_port();
        $S->{base} = "http://127.0.0.1:$S->{port}";
        $S->_spawn;
        is $S->_wait_ready(15), undef, 'restarted';
        wait_until('completed after the restart', sub { !one("SELECT count(*) FROM spool WHERE id = $id") });
        my $h = history($id);
        is_deeply [ map { "$_->[0] $_->[1]" } @$h ], [ 'FAIL 1', 'SUCCESS 2' ],
            'the interrupted attempt is FAIL, the next one SUCCESS';
        is $h->[0][2], $h->[1][2], 'same token';
        like one("SELECT response FROM spool_history WHERE spool_id = $id ORDER BY id"),
            qr/interrupted/, 'marked interrupted';
        is one("SELECT count(*) FROM spool_history WHERE spool_id = $id AND status = 'SUCCESS'"), 1,
            'completed exactly once';
        $S->stop;
    };
}

done_testing;
