# Ordering services (api.md R60, R61, R84, R85; billing.md §8.2, §9, §22.1, §22.5; D16):
# the price list with its price fields and the composite vectors, orders without bound
# commands (ACTIVE with expire and a paid withdraw), not enough money (NOT PAID),
# children created with the parent, composite roots, the orderability check and the
# order rate limit. Honest, Europe/Moscow, the test clock frozen at 2017-01-01 00:00.
# `billd check` ends every scenario.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);
use JSON::PP;
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(time sleep);

my $JSON = JSON::PP->new->canonical->allow_nonref;

sub ledger_ok {
    my ($s, $what) = @_;
    local $ENV{DATABASE_URL}     = $s->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub mkuser {
    my ($s, $adm, $login, %extra) = @_;
    my $r = $s->req(PUT => '/shm/v1/admin/user', session => $adm,
        json => { login => $login, password => 'Password1' });
    die "cannot create $login: $r->{body}" unless $r->{status} == 200;
    my $id = data0($r)->{user_id};
    if (%extra) {
        $r = $s->req(POST => '/shm/v1/admin/user', session => $adm,
            json => { user_id => $id, %extra });
        die "cannot update $login: $r->{body}" unless $r->{status} == 200;
    }
    return $id;
}

sub mkservice {
    my ($s, $adm, %f) = @_;
    my $r = $s->req(PUT => '/shm/v1/admin/service', session => $adm,
        json => { name => 'svc', category => 'vps', period => 1, allow_to_order => 1, %f });
    die "cannot create a service: $r->{body}" unless $r->{status} == 200;
    return data0($r)->{service_id};
}

sub user_money {
    my ($s, $adm, $uid) = @_;
    my $r = $s->req(GET => '/shm/v1/admin/user', session => $adm, query => { user_id => $uid });
    return join ' ', map { jenc($r, 'data', 0, $_) // 'undef' } qw(balance bonus);
}

# The admin view of a user service: the joined row with `withdraws`.
sub admin_us {
    my ($s, $adm, $uid, $usi) = @_;
    my $r = $s->req(GET => '/shm/v1/admin/user/service', session => $adm,
        query => { user_id => $uid, user_service_id => $usi });
    return data0($r);
}

sub order {
    my ($s, $adm, $uid, %a) = @_;
    my $r = $s->req(PUT => '/shm/v1/admin/service/order', session => $adm,
        json => { user_id => $uid, %a });
    is $r->{status}, 200, "order @{[ %a ]}" or diag $r->{body};
    return admin_us($s, $adm, $uid, data0($r)->{user_service_id});
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
            env => { BILLD_TEST_CLOCK => 1, TZ => 'Europe/Moscow' });
        my $adm = $s->admin_session;
        my %A   = (session => $adm);
        my $r = $s->req(POST => '/shm/v1/admin/test/clock', %A,
            json => { now => '2017-01-01 00:00:00' });
        is $r->{status}, 200, 'clock frozen';
        $r = $s->req(POST => '/shm/v1/admin/config/billing', %A, json => { type => 'Honest' });
        is $r->{status}, 200, 'Honest';
        $s->sql("INSERT INTO discounts (title, months, percent) VALUES ('1 month', 1, 0),"
              . " ('3 months', 3, 10), ('6 months', 6, 15), ('12 months', 12, 20)");

        subtest 'create_new_service vectors (§22.1)' => sub {
            my $uid = mkuser($s, $adm, 'orderer', balance => 100000);
            my $svc = mkservice($s, $adm, cost => 1000);
            my $us = order($s, $adm, $uid, service_id => $svc, cost => 1000, months => 1);
            is $us->{status}, 'ACTIVE', 'ACTIVE without commands';
            is $us->{expire}, '2017-01-31 23:59:59', 'expire of 1 month';
            is $us->{withdraws}{total}, 1000, 'withdraw total';
            is $us->{withdraws}{withdraw_date}, '2017-01-01 00:00:00', 'paid now';
            is $us->{withdraws}{end_date}, '2017-01-31 23:59:59', 'wd end_date = expire';

            $us = order($s, $adm, $uid, service_id => $svc, cost => 1000, months => '2.01');
            is $us->{expire}, '2017-03-01 23:59:59', 'months 2.01: expire';
            is $us->{withdraws}{total}, 2032.26, 'months 2.01: total';

            my $cheap = mkservice($s, $adm, cost => 100);
            $us = order($s, $adm, $uid, service_id => $cheap, months => 4);
            is $us->{withdraws}{discount}, 10, 'months 4: discount 10';
            is $us->{withdraws}{total}, 360, 'months 4: total 360';
            is $us->{expire}, '2017-04-30 23:59:59', 'months 4: expire';

            my $dom = mkservice($s, $adm, cost => 1000, period => 12, no_discount => 1,
                category => 'domain');
            $us = order($s, $adm, $uid, service_id => $dom, months => 12);
            is $us->{withdraws}{discount}, 0, 'domain: no discount';
            is $us->{withdraws}{total}, 1000, 'domain: total';
            is $us->{expire}, '2017-12-31 23:59:59', 'domain: expire';

            my $p3 = mkservice($s, $adm, cost => 300, period => 3);
            $us = order($s, $adm, $uid, service_id => $p3);
            is $us->{status}, 'ACTIVE', 'period 3: ACTIVE';
            is $us->{expire}, '2017-03-31 23:59:59', 'period 3: expire';

            $us = order($s, $adm, $uid, service_id => $cheap, end_date => '2017-05-05 10:00:00');
            is $us->{expire}, '2017-05-05 10:00:00', 'end_date overrides expire';

            my $y = mkservice($s, $adm, cost => 1200, period => 12);
            $us = order($s, $adm, $uid, service_id => $y, months => 1);
            is $us->{withdraws}{total}, 100, '1200/12 months, months 1: 100';
            $us = order($s, $adm, $uid, service_id => $y, months => '0.01');
            is $us->{withdraws}{total}, 3.23, '1200/12 months, months 0.01: 3.23';
            ledger_ok($s, 'vectors');
        };

        subtest 'bonuses and limit_bonus_percent (§22.1)' => sub {
            for my $case ([0, 100, 0, 99], [30, 70, 30, 69], [100, 1, 99, 0]) {
                my ($limit, $total, $bonus, $left) = @$case;
                my $uid = mkuser($s, $adm, "bonus$limit", balance => 1000, bonus => 99);
                my $svc = mkservice($s, $adm, cost => 100,
                    config => { limit_bonus_percent => $limit });
                my $us = order($s, $adm, $uid, service_id => $svc);
                is $us->{withdraws}{total}, $total, "limit $limit: total";
                is $us->{withdraws}{bonus}, $bonus, "limit $limit: bonus";
                is user_money($s, $adm, $uid), (1000 - $total) . " $left",
                    "limit $limit: balance and bonus";
            }
            ledger_ok($s, 'bonuses');
        };

        subtest 'user order, price list and orderability (R60, R61, D16)' => sub {
            my $uid = mkuser($s, $adm, 'client', balance => 150);
            my $us_sid = $s->login('client', 'Password1');
            my $svc = mkservice($s, $adm, name => 'Golden VPS ${QUOTA}', cost => 150,
                category => 'goldvps');
            my $hidden = mkservice($s, $adm, cost => 1, allow_to_order => 0, category => 'goldvps');
            my $r = $s->req(GET => '/shm/v1/service/order', session => $us_sid,
                query => { category => 'goldvps' });
            is $r->{status}, 200, 'price list';
            my @items = @{ $r->{json}{data} };
            is scalar @items, 1, 'only orderable services';
            is_deeply { map { $_ => $items[0]{$_} } qw(service_id cost discount cost_discount
                real_cost cost_bonus real_cost_with_bonuses partial_renew) },
                { service_id => $svc, cost => 150, discount => 0, cost_discount => 0,
                  real_cost => 150, cost_bonus => 0, real_cost_with_bonuses => 150,
                  partial_renew => undef }, 'price fields';
            ok !exists $items[0]{config}, 'hidden service fields removed';

            $r = $s->req(PUT => '/shm/v1/service/order', session => $us_sid,
                json => { service_id => $hidden });
            is $r->{status}, 403, 'not orderable: 403';
            is $r->{json}{error}, 'The service is prohibited for registration', 'message';

            $r = $s->req(PUT => '/shm/v1/service/order', session => $us_sid,
                json => { service_id => $svc });
            is $r->{status}, 200, 'ordered' or diag $r->{body};
            my $row = data0($r);
            is $row->{status}, 'ACTIVE', 'ACTIVE';
            is $row->{name}, 'Golden VPS ${QUOTA}', 'name (no settings: placeholder kept)';
            is $row->{expire}, '2017-01-31 23:59:59', 'expire';
            ok !exists $row->{$_}, "$_ hidden" for qw(user_id withdraw_id settings auto_bill);
            is user_money($s, $adm, $uid), '0 0', 'charged 150';

            $r = $s->req(PUT => '/shm/v1/service/order', session => $us_sid,
                json => { service_id => $svc });
            is data0($r)->{status}, 'NOT PAID', 'not enough money: NOT PAID';
            my $us = admin_us($s, $adm, $uid, data0($r)->{user_service_id});
            is $us->{expire}, undef, 'no expire';
            is $us->{withdraws}{withdraw_date}, undef, 'withdraw unpaid';
            is $us->{withdraws}{total}, 150, 'withdraw total';
            is user_money($s, $adm, $uid), '0 0', 'nothing charged';

            my $us2 = order($s, $adm, $uid, service_id => $svc, settings => { quota => 10000 },
                auto_bill => 0);
            is $us2->{name}, 'Golden VPS 10000', 'name placeholders from settings';
            is $us2->{status}, 'INIT', 'auto_bill 0: not processed';
            ledger_ok($s, 'user order');
        };

        subtest 'children and composite (§22.5, §8.2)' => sub {
            my $child = mkservice($s, $adm, cost => 10, pay_always => 1, category => 'child');
            my $free = mkservice($s, $adm, cost => 5, category => 'free');
            my $parent = mkservice($s, $adm, cost => 100, is_composite => 1, category => 'comp',
                children => [{ service_id => $child, qnt => 2 }, { service_id => $free }]);
            my $uid = mkuser($s, $adm, 'comp1', balance => 100);
            my $sid = $s->login('comp1', 'Password1');
            my $r = $s->req(GET => '/shm/v1/service/order', session => $sid,
                query => { category => 'comp' });
            is jenc($r, 'data', 0, 'cost'), 125, 'composite cost 100 + 10 × 2 + 5';

            my $us = order($s, $adm, $uid, service_id => $parent);
            is $us->{status}, 'NOT PAID', 'balance 100 < 125: NOT PAID';
            my @kids = $s->sql("SELECT status FROM user_services WHERE parent = "
                . "$us->{user_service_id} ORDER BY user_service_id");
            is_deeply \@kids, ['NOT PAID', 'NOT PAID'], 'children NOT PAID';
            is user_money($s, $adm, $uid), '100 0', 'nothing charged';

            my $uid2 = mkuser($s, $adm, 'comp2', balance => 120);
            $us = order($s, $adm, $uid2, service_id => $parent);
            is $us->{status}, 'ACTIVE', 'balance 120: ACTIVE';
            @kids = $s->sql("SELECT status, CASE WHEN withdraw_id IS NULL THEN 0 ELSE 1 END FROM user_services WHERE parent = "
                . "$us->{user_service_id} ORDER BY user_service_id");
            is_deeply \@kids, ['ACTIVE|1', 'ACTIVE|0'], 'children ACTIVE, only pay_always has a wd';
            is user_money($s, $adm, $uid2), '0 0', 'charged 120';

            my $u3 = mkuser($s, $adm, 'disc', balance => 0, discount => 10);
            my $sid3 = $s->login('disc', 'Password1');
            my $plain = mkservice($s, $adm, cost => 100, category => 'pl',
                children => [{ service_id => $child, qnt => 2 }], is_composite => 1);
            $r = $s->req(GET => '/shm/v1/service/order', session => $sid3,
                query => { category => 'pl' });
            is jenc($r, 'data', 0, 'discount'), 10, 'personal discount 10';
            is jenc($r, 'data', 0, 'real_cost'), 108, 'real_cost 108';

            my $u4 = mkuser($s, $adm, 'lim', discount => 50, bonus => 99);
            my $sid4 = $s->login('lim', 'Password1');
            mkservice($s, $adm, cost => 100, category => 'lim',
                config => { limit_bonus_percent => 30 });
            $r = $s->req(GET => '/shm/v1/service/order', session => $sid4,
                query => { category => 'lim' });
            is jenc($r, 'data', 0, 'cost_bonus'), 15, 'cost_bonus 15';
            is jenc($r, 'data', 0, 'real_cost'), 50, 'real_cost 50';
            is jenc($r, 'data', 0, 'real_cost_with_bonuses'), 35, 'with bonuses 35';
            ledger_ok($s, 'composite');
        };

        subtest 'concurrent orders never overdraw' => sub {
            my $uid = mkuser($s, $adm, 'racer', balance => 150);
            my $svc = mkservice($s, $adm, cost => 150, category => 'race');
            my @res = parallel($s, 6, 'PUT', '/shm/v1/admin/service/order',
                { 'session-id' => $adm, 'content-type' => 'application/json' },
                $JSON->encode({ user_id => $uid, service_id => $svc }));
            is scalar(grep { $_->{status} == 200 } @res), 6, 'all answered 200';
            my @st = $s->sql("SELECT status FROM user_services WHERE user_id = $uid");
            is scalar(grep { $_ eq 'ACTIVE' } @st), 1, 'exactly one ACTIVE';
            is scalar(grep { $_ eq 'NOT PAID' } @st), 5, 'the others NOT PAID';
            is user_money($s, $adm, $uid), '0 0', 'balance 0, never negative';
            ledger_ok($s, 'race');
        };

        subtest 'rate limit and errors' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/service/order', %A,
                json => { user_id => 1, service_id => 999999 });
            is $r->{status}, 404, 'unknown service: 404';
            my $uid = mkuser($s, $adm, 'limited', balance => 0);
            my $sid = $s->login('limited', 'Password1');
            my $svc = mkservice($s, $adm, cost => 1, category => 'rl');
            my %ip = (headers => { 'X-Real-IP' => '203.0.113.7' });
            for my $i (1 .. 5) {
                $r = $s->req(PUT => '/shm/v1/service/order', session => $sid, %ip,
                    json => { service_id => $svc });
                is $r->{status}, 200, "order $i from a public address";
            }
            $r = $s->req(PUT => '/shm/v1/service/order', session => $sid, %ip,
                json => { service_id => $svc });
            is $r->{status}, 429, 'the sixth within 10 minutes: 429';
            $r = $s->req(PUT => '/shm/v1/service/order', %A, json => {});
            is $r->{status}, 400, 'service_id required';
            is $r->{json}{error}, 'Field required: service_id', 'message';
        };
        $s->stop;
    };
}

done_testing;
