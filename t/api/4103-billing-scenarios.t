# Billing integration scenarios (billing.md §22.2, §22.4, §11.3, §13.2, §13.3; api.md R113,
# R120–R123) driven through the API with the test clock (BILLD_TEST_CLOCK=1): the full life
# cycle (create, touch, continuous renewal, BLOCK without money, re-activation, block and
# delete with money back), the next service chain, the partial period, a tariff change,
# and an event with a bound command (PROGRESS and the queued spool tasks, children first).
# Honest, Europe/London. `billd check` ends every scenario.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);
use JSON::PP;

my $JSON = JSON::PP->new->canonical->allow_nonref;

sub ledger_ok {
    my ($s, $what) = @_;
    local $ENV{DATABASE_URL}     = $s->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

my ($S, %A);

sub clock {
    my ($now) = @_;
    my $r = $S->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => $now });
    die "clock: $r->{body}" unless $r->{status} == 200;
}

sub mkuser {
    my ($login, %extra) = @_;
    my $r = $S->req(PUT => '/shm/v1/admin/user', %A,
        json => { login => $login, password => 'Password1' });
    die "cannot create $login: $r->{body}" unless $r->{status} == 200;
    my $id = data0($r)->{user_id};
    set_user($id, %extra) if %extra;
    return $id;
}

sub set_user {
    my ($id, %f) = @_;
    my $r = $S->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $id, %f });
    die "cannot update $id: $r->{body}" unless $r->{status} == 200;
}

sub mkservice {
    my (%f) = @_;
    my $r = $S->req(PUT => '/shm/v1/admin/service', %A,
        json => { name => 'svc', category => 'web', period => 1, allow_to_order => 1, %f });
    die "cannot create a service: $r->{body}" unless $r->{status} == 200;
    return data0($r)->{service_id};
}

sub money {
    my ($uid) = @_;
    my $r = $S->req(GET => '/shm/v1/admin/user', %A, query => { user_id => $uid });
    return join ' ', map { jenc($r, 'data', 0, $_) // 'undef' } qw(balance bonus);
}

sub us {
    my ($uid, $usi) = @_;
    my $r = $S->req(GET => '/shm/v1/admin/user/service', %A,
        query => { user_id => $uid, user_service_id => $usi });
    return data0($r);
}

sub kids {
    my ($usi) = @_;
    return [ $S->sql("SELECT status FROM user_services WHERE parent = $usi ORDER BY user_service_id") ];
}

sub op {
    my ($path, $uid, $usi, %a) = @_;
    my $r = $S->req(POST => "/shm/v1/admin/user/service/$path", %A,
        json => { user_id => $uid, user_service_id => $usi, %a });
    is $r->{status}, 200, "$path $usi" or diag $r->{body};
    return $r;
}

sub order {
    my ($uid, %a) = @_;
    my $r = $S->req(PUT => '/shm/v1/admin/service/order', %A, json => { user_id => $uid, %a });
    is $r->{status}, 200, 'ordered' or diag $r->{body};
    return data0($r)->{user_service_id};
}

for my $engine (engines()) {
    subtest $engine => sub {
        $S = BilldTest->start(engine => $engine,
            env => { BILLD_TEST_CLOCK => 1, TZ => 'Europe/London' });
        %A = (session => $S->admin_session);
        clock('2017-01-01 00:00:00');
        my $r = $S->req(POST => '/shm/v1/admin/config/billing', %A, json => { type => 'Honest' });
        is $r->{status}, 200, 'Honest';

        subtest 'full life cycle (§22.2, no bound commands)' => sub {
            my $uid = mkuser('full', balance => 2000);
            my $web  = mkservice(cost => 0, category => 'web');
            my $mail = mkservice(cost => 0, category => 'mail');
            my $host = mkservice(cost => 200, category => 'hosting',
                children => [$web, $mail]);
            my $usi = order($uid, service_id => $host, cost => 1000);
            my $us = us($uid, $usi);
            is $us->{status}, 'ACTIVE', 'ACTIVE';
            is $us->{expire}, '2017-01-31 23:59:59', 'expire';
            is money($uid), '1000 0', 'balance 1000';
            is_deeply kids($usi), ['ACTIVE', 'ACTIVE'], 'children ACTIVE';

            clock('2017-01-15 00:00:00');
            op(touch => $uid, $usi);
            is us($uid, $usi)->{expire}, '2017-01-31 23:59:59', 'touch before expiry: nothing';
            is money($uid), '1000 0', 'nothing charged';

            clock('2017-02-01 13:14:01');
            op(touch => $uid, $usi);
            $us = us($uid, $usi);
            is $us->{withdraws}{withdraw_date}, '2017-02-01 13:14:01', 'renewal paid now';
            is $us->{withdraws}{end_date}, '2017-02-28 23:59:57', 'continuous from the old expire';
            is $us->{expire}, '2017-02-28 23:59:57', 'expire';
            is $us->{withdraws}{total}, 1000, 'grandfathered cost override';
            is money($uid), '0 0', 'balance 0';

            clock('2017-03-01 00:00:00');
            op(touch => $uid, $usi);
            $us = us($uid, $usi);
            is $us->{status}, 'BLOCK', 'no money: BLOCK';
            is $us->{withdraws}{create_date}, '2017-03-01 00:00:00', 'new unpaid wd';
            is $us->{withdraws}{withdraw_date}, undef, 'unpaid';
            is_deeply kids($usi), ['BLOCK', 'BLOCK'], 'children BLOCK';
            my $wd = $us->{withdraw_id};
            op(touch => $uid, $usi);
            is us($uid, $usi)->{withdraw_id}, $wd, 'touching again: the same wd';

            clock('2017-03-02 12:00:00');
            set_user($uid, balance => 1000.03);
            op(touch => $uid, $usi);
            $us = us($uid, $usi);
            is $us->{withdraw_id}, $wd, 'the same wd is paid';
            is $us->{status}, 'ACTIVE', 'ACTIVE again';
            is $us->{withdraws}{end_date}, '2017-04-02 10:50:18', 'from now (was BLOCK)';
            is money($uid), '0.03 0', 'balance 0.03';
            is_deeply kids($usi), ['ACTIVE', 'ACTIVE'], 'children ACTIVE';

            my $u2 = mkuser('full2');
            my $usi2 = order($u2, service_id => $host, cost => 1000);
            is us($u2, $usi2)->{status}, 'NOT PAID', 'no money: NOT PAID';
            is_deeply kids($usi2), ['NOT PAID', 'NOT PAID'], 'children NOT PAID';
            set_user($u2, balance => 1000);
            op(touch => $u2, $usi2);
            is us($u2, $usi2)->{status}, 'ACTIVE', 'after funding: ACTIVE';
            ledger_ok($S, 'life cycle');
        };

        subtest 'block and delete with money back (§22.2, §13.3, §14)' => sub {
            clock('2018-01-01 00:00:00');
            my $uid = mkuser('del', balance => 1000);
            my $svc = mkservice(cost => 1000, category => 'del');
            my $usi = order($uid, service_id => $svc);
            my $r = $S->req(DELETE => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid, user_service_id => $usi });
            is $r->{status}, 400, 'ACTIVE cannot be deleted';
            is $r->{json}{error}, "Can't delete service with status: ACTIVE", 'message';
            clock('2018-01-15 00:00:00');
            op(stop => $uid, $usi);
            is us($uid, $usi)->{status}, 'BLOCK', 'block_force';
            $r = $S->req(DELETE => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid, user_service_id => $usi });
            is $r->{status}, 200, 'deleted' or diag $r->{body};
            my $us = us($uid, $usi);
            is $us->{status}, 'REMOVED', 'REMOVED';
            is $us->{withdraws}{total}, 451.61, 'kept 451.61';
            is $us->{withdraws}{months}, 0.14, 'months 0.14';
            is $us->{withdraws}{end_date}, '2018-01-15 00:00:00', 'end_date';
            is money($uid), '548.39 0', 'refund';
            ledger_ok($S, 'delete');
        };

        subtest 'next service and partial period (§22.4)' => sub {
            clock('2019-04-01 01:00:00');
            my $s200 = mkservice(cost => 200, category => 'nx');
            my $s100 = mkservice(cost => 100, category => 'nx', next => $s200);
            my $free = mkservice(cost => 0, period => '0.01', category => 'nx', next => $s100);
            my $s600 = mkservice(cost => 600, period => 6, category => 'nx');
            my $part = mkservice(cost => 100, category => 'nx',
                config => { allow_partial_period => 1 });
            my $uid = mkuser('next', can_overdraft => 1);
            my $usi = order($uid, service_id => $free);
            is us($uid, $usi)->{expire}, '2019-04-02 00:59:59', 'free day';

            clock('2019-04-03 00:00:00');
            op(touch => $uid, $usi);
            my $us = us($uid, $usi);
            is $us->{service_id}, $s100, 'switched to the 100 service';
            is $us->{next}, $s200, 'next = the 200 service';
            is $us->{withdraws}{total}, 100, 'wd 100';
            is $us->{expire}, '2019-05-02 01:49:57', 'expire';
            is money($uid), '-100 0', 'balance -100';

            op('' => $uid, $usi) if 0;
            my $r = $S->req(POST => '/shm/v1/admin/user/service', %A,
                json => { user_id => $uid, user_service_id => $usi, next => $s600 });
            is $r->{status}, 200, 'next set' or diag $r->{body};
            clock('2019-05-03 00:00:00');
            op(touch => $uid, $usi);
            $us = us($uid, $usi);
            is $us->{withdraws}{months}, 6, 'months 6';
            is $us->{expire}, '2019-11-02 00:59:56', 'expire';
            is $us->{next}, 0, 'next 0';

            set_user($uid, can_overdraft => 0, balance => 50);
            $r = $S->req(POST => '/shm/v1/admin/user/service', %A,
                json => { user_id => $uid, user_service_id => $usi, next => $part });
            clock('2019-11-02 01:00:00');
            op(touch => $uid, $usi);
            $us = us($uid, $usi);
            is $us->{status}, 'ACTIVE', 'partial: ACTIVE';
            is $us->{withdraws}{total}, 50, 'partial: total 50';
            is $us->{withdraws}{months}, 0.16, 'partial: months 0.16';
            is $us->{expire}, $us->{withdraws}{end_date}, 'partial: expire = wd end_date';
            # Not the §22.4 vector: this chain renews from the 6-month service's expire
            # 2019-11-02 00:59:56, so §5.2 gives 2019-11-17 00:00 + trunc(S2 - S2/(S/T)) - 1
            # = +89995 s (the double quotient lands just above 2502003) → 2019-11-18 00:59:54.
            # SHM's own run of §22.4 starts from 2019-11-01 00:58:02 (next subtest).
            is $us->{expire}, '2019-11-18 00:59:54', 'partial: expire from the old expire';
            is money($uid), '0 0', 'balance 0';
            ledger_ok($S, 'next');
        };

        # billing.md §22.4 "partial period" rows, as SHM's next.t produces them: a fresh
        # 100/month service with allow_partial_period bought on 2019-10-01 01:00 BST
        # (expire 2019-11-01 00:58:02, across the DST end), renewed on 2019-11-02 00:00 GMT
        # with 50 (or 30 + 20 bonus): 50 buys 16 November days (§5.5: ⌊50/(100/30)⌋ = 15,
        # 50 mod 3 > 0 → 16), renewed from the old expire → 2019-11-17 00:58:01.
        subtest 'partial period vector (§22.4, §12.2)' => sub {
            for my $case ([ 'money', 50, 0, '50 0' ], [ 'bonus', 30, 20, '30 20' ]) {
                my ($name, $balance, $bonus, $paid) = @$case;
                clock('2019-10-01 01:00:00');
                my $part = mkservice(cost => 100, category => 'pp',
                    config => { allow_partial_period => 1 });
                my $uid = mkuser("part_$name", balance => 100);
                my $usi = order($uid, service_id => $part);
                my $us = us($uid, $usi);
                is $us->{status}, 'ACTIVE', "$name: ACTIVE after creation";
                is $us->{expire}, '2019-11-01 00:58:02', "$name: first full period";
                is money($uid), '0 0', "$name: full payment";

                clock('2019-11-02 00:00:00');
                set_user($uid, balance => $balance, bonus => $bonus);
                op(touch => $uid, $usi);
                $us = us($uid, $usi);
                is $us->{status}, 'ACTIVE', "$name: ACTIVE after the partial renewal";
                is $us->{expire}, '2019-11-17 00:58:01', "$name: expire (§22.4 vector)";
                is $us->{withdraws}{months}, 0.16, "$name: months 0.16";
                is join(' ', $us->{withdraws}{total}, $us->{withdraws}{bonus}), $paid,
                    "$name: total and bonus";
                is money($uid), '0 0', "$name: balance and bonus consumed";
            }
            ledger_ok($S, 'partial');
        };

        subtest 'composite renewal (§22.5)' => sub {
            clock('2019-04-01 01:00:00');
            my $child = mkservice(cost => 10, pay_always => 1, category => 'cc');
            my $root = mkservice(cost => 100, is_composite => 1, category => 'cr',
                children => [{ service_id => $child, qnt => 2 }]);
            my $uid = mkuser('comp', balance => 120);
            my $usi = order($uid, service_id => $root);
            my $us = us($uid, $usi);
            is $us->{status}, 'ACTIVE', 'ACTIVE';
            is $us->{expire}, '2019-05-01 01:01:59', 'expire';
            is_deeply kids($usi), ['ACTIVE'], 'child ACTIVE';
            my ($cexp) = $S->sql("SELECT expire FROM user_services WHERE parent = $usi");
            is $cexp, ($S->sql("SELECT expire FROM user_services WHERE user_service_id = $usi"))[0],
                'the same expire';
            is money($uid), '0 0', 'balance 0';
            clock('2019-05-02 00:00:00');
            op(touch => $uid, $usi);
            is us($uid, $usi)->{status}, 'BLOCK', 'after expiry without money: BLOCK';
            is_deeply kids($usi), ['BLOCK'], 'child BLOCK';
            set_user($uid, balance => 120);
            op(touch => $uid, $usi);
            is us($uid, $usi)->{status}, 'ACTIVE', '120 paid: ACTIVE';
            is_deeply kids($usi), ['ACTIVE'], 'child ACTIVE';
            is money($uid), '0 0', 'both charged';
            ledger_ok($S, 'composite');
        };

        subtest 'tariff change (§13.2)' => sub {
            clock('2020-01-01 00:00:00');
            my $s200 = mkservice(cost => 200, category => 'chg');
            my $s100 = mkservice(cost => 100, category => 'chg');
            my $uid = mkuser('chg', balance => 200);
            my $usi = order($uid, service_id => $s200);
            is money($uid), '0 0', 'paid 200';
            op(change => $uid, $usi, service_id => $s100);
            my $us = us($uid, $usi);
            is $us->{status}, 'ACTIVE', 'ACTIVE';
            is $us->{service_id}, $s100, 'switched';
            is $us->{withdraws}{total}, 100, 'wd 100';
            is money($uid), '100 0', '200 refunded, 100 charged';

            my $u2 = mkuser('chg2', balance => 10);
            my $usi2 = order($u2, service_id => $s200);
            op(change => $u2, $usi2, service_id => $s100);
            $us = us($u2, $usi2);
            is $us->{status}, 'NOT PAID', 'stays NOT PAID';
            is $us->{withdraws}{total}, 100, 'with the new wd total';
            set_user($u2, balance => 100);
            op(change => $u2, $usi2, service_id => $s100);
            is us($u2, $usi2)->{status}, 'ACTIVE', 'NOT PAID, balance 100: ACTIVE';
            ledger_ok($S, 'change');
        };

        subtest 'bound commands: PROGRESS and spool tasks (§10.3, §11)' => sub {
            clock('2020-02-01 00:00:00');
            my $r = $S->req(PUT => '/shm/v1/admin/service/event', %A, json => {
                title => 'mysql create', name => 'create', server_gid => 1,
                settings => { category => 'mysql', cmd => 'echo create' } });
            is $r->{status}, 200, 'event bound' or diag $r->{body};
            my $mysql = mkservice(cost => 0, category => 'mysql');
            my $web   = mkservice(cost => 0, category => 'webx');
            my $host  = mkservice(cost => 100, category => 'hostx', children => [$web, $mysql]);
            my $uid = mkuser('spool', balance => 100);
            my $usi = order($uid, service_id => $host);
            is us($uid, $usi)->{status}, 'PROGRESS', 'parent PROGRESS (waits for the child)';
            is_deeply kids($usi), ['ACTIVE', 'PROGRESS'], 'web ACTIVE, mysql PROGRESS';
            my @t = $S->sql("SELECT event, settings FROM spool WHERE user_id = $uid ORDER BY id");
            is scalar @t, 1, 'one task';
            my ($ev, $set) = split /\|/, $t[0];
            $ev = $JSON->decode($ev);
            is $ev->{name}, 'CREATE', 'event name upper-cased';
            is $ev->{settings}{category}, 'mysql', 'event copy';
            my ($child) = $S->sql("SELECT user_service_id FROM user_services WHERE parent = $usi"
                . " AND status = 'PROGRESS'");
            is_deeply $JSON->decode($set), { user_service_id => $child + 0 }, 'task settings';
            $r = $S->req(GET => '/shm/v1/admin/user/service/spool', %A,
                query => { user_id => $uid, user_service_id => $child });
            is $r->{json}{items}, 1, 'R124: the task of the child';
            is data0($r)->{event}{name}, 'CREATE', 'R124: event';
            ledger_ok($S, 'spool');
        };
        $S->stop;
    };
}

done_testing;
