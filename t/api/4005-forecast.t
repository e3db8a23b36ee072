# GET /shm/v1/user/pay/forecast (R58, billing.md §16) through the API with the test clock:
# nothing due, a service due within the horizon (renewal at the grandfathered price),
# a debt, bonuses from the running pool, the days / consider_today / blocked arguments,
# and bad arguments. Honest, UTC.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines);

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
        $ok->($s->req(POST => '/shm/v1/admin/config/billing', %A, body => '{"type":"Honest"}',
            type => 'application/json'), 'Honest');
        $ok->($s->req(POST => '/shm/v1/admin/test/clock', %A,
            json => { now => '2026-01-10 12:00:00' }), 'clock');

        my $u = $ok->($s->req(PUT => '/shm/v1/admin/user', %A,
            json => { login => 'fc', password => 'Password1' }), 'user')->{user_id};
        # login headers, not a session: the clock jumps further than a session's 3 idle days
        my @U = (login => [ 'fc', 'Password1' ]);
        my $fc = sub { $s->req(GET => '/shm/v1/user/pay/forecast', @U, @_) };

        my $f = $ok->($fc->(), 'empty forecast');
        is_deeply $f, { balance => 0, bonuses => 0, items => [], total => 0 }, 'nothing due';

        my $svc = $ok->($s->req(PUT => '/shm/v1/admin/service', %A,
            json => { name => 'VPN ${PLAN}', cost => 300, period => 1, category => 'vpn',
                      allow_to_order => 1 }), 'service')->{service_id};
        $ok->($s->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $u, balance => 300 }),
            'fund 300');
        my $us = $ok->($s->req(PUT => '/shm/v1/service/order', @U,
            json => { service_id => $svc }), 'order');
        is $us->{status}, 'ACTIVE', 'ordered and paid';
        # Honest: 21.5 of January's 31 days, the rest of the month in February's 28
        is $us->{expire}, '2026-02-09 13:56:06', 'Honest month from 2026-01-10 12:00';

        # the catalogue price changes: the renewal keeps the paid price (§12.1)
        $ok->($s->req(POST => '/shm/v1/admin/service', %A,
            json => { service_id => $svc, cost => 500 }), 'new price');

        $f = $ok->($fc->(), 'not yet due');
        is_deeply $f->{items}, [], 'expires after the 3-day horizon';
        is $f->{total}, 0, 'total 0';

        $ok->($s->req(POST => '/shm/v1/admin/test/clock', %A,
            json => { now => '2026-02-06 09:00:00' }), 'clock: 3 days before expiry');
        $f = $ok->($fc->(), 'due');
        is scalar @{ $f->{items} }, 1, 'one item';
        my $it = $f->{items}[0];
        is $it->{user_service_id}, $us->{user_service_id}, 'the ordered service';
        is $it->{expire}, '2026-02-09 13:56:06', 'its expiry';
        is $it->{next}{total}, 300, 'renews at the grandfathered 300, not 500';
        is $f->{balance}, 0, 'balance 0';
        is $f->{total}, 300, 'total 300';
        ok !exists $f->{dept}, 'no debt';

        $f = $ok->($fc->(query => { days => 1 }), 'days=1');
        is_deeply $f->{items}, [], 'outside a 1-day horizon';
        $f = $ok->($fc->(query => { days => 1, consider_today => 1 }), 'consider_today');
        is_deeply $f->{items}, [], 'consider_today moves the horizon back a day';

        # a debt is added, bonuses are taken from the pool
        $ok->($s->req(POST => '/shm/v1/admin/user', %A,
            json => { user_id => $u, balance => -21.56, bonus => 50 }), 'debt and bonus');
        $f = $ok->($fc->(), 'with debt and bonuses');
        is $f->{dept}, 21.56, 'dept (sic) = |balance|';
        is $f->{bonuses}, 50, 'bonuses';
        is $f->{items}[0]{next}{total}, 250, 'the bonus pays 50 of the renewal';
        is $f->{total}, 271.56, 'total = renewal - bonus + debt';

        # a positive balance is taken off the total
        $ok->($s->req(POST => '/shm/v1/admin/user', %A,
            json => { user_id => $u, balance => 100.5, bonus => 0 }), 'credit balance');
        $f = $ok->($fc->(), 'with balance');
        is $f->{total}, 199.5, 'total = 300 - 100.50';

        for my $bad ('x', -1, 99999) {
            my $r = $fc->(query => { days => $bad });
            is $r->{status}, 400, "days=$bad: 400";
        }
        is $s->req(GET => '/shm/v1/user/pay/forecast')->{status}, 401, 'needs a login';

        local $ENV{DATABASE_URL} = $s->db_url;
        local $ENV{BILLD_SECRET_KEY} = '00' x 32;
        my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
        is $?, 0, 'billd check passes' or diag $out;
        $s->stop;
    };
}

done_testing;
