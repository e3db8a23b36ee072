# User services through the API (api.md R50–R53, R110–R113, R115, R118–R122, §9.8;
# billing.md §10.6, §13.3; DECISIONS D11, D16): the caller's list with its service summary
# and hidden fields, ownership (another user's service is a 404), the status rules of
# delete and stop, the admin list (top-level by default, joined rows), raw inserts,
# admin edits, manual status, activate and the withdraw routes. `billd check` at the end.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);

sub ledger_ok {
    my ($s, $what) = @_;
    local $ENV{DATABASE_URL}     = $s->db_url;
    local $ENV{BILLD_SECRET_KEY} = '00' x 32;
    my $out = `"$ENV{BILLD_BIN}" check 2>&1`;
    is $?, 0, "billd check passes ($what)" or diag $out;
}

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine, env => { TZ => 'UTC' });
        my $adm = $s->admin_session;
        my %A   = (session => $adm);
        my %uid;
        for my $login (qw(alice bob)) {
            my $r = $s->req(PUT => '/shm/v1/admin/user', %A,
                json => { login => $login, password => 'Password1' });
            $uid{$login} = data0($r)->{user_id};
            $s->req(POST => '/shm/v1/admin/user', %A,
                json => { user_id => $uid{$login}, balance => 1000 });
        }
        my $r = $s->req(PUT => '/shm/v1/admin/service', %A, json => { name => 'Mail',
            cost => 0, period => 1, category => 'mail' });
        my $mail = data0($r)->{service_id};
        $r = $s->req(PUT => '/shm/v1/admin/service', %A, json => { name => 'Hosting',
            cost => 100, period => 1, category => 'web', allow_to_order => 1,
            children => [$mail] });
        my $host = data0($r)->{service_id};
        $r = $s->req(PUT => '/shm/v1/admin/service', %A, json => { name => 'Secret',
            cost => 1, period => 1, category => 'web', allow_to_order => 0 });
        my $secret = data0($r)->{service_id};
        my $sa = $s->login('alice', 'Password1');
        my $sb = $s->login('bob', 'Password1');

        $r = $s->req(PUT => '/shm/v1/service/order', session => $sa,
            json => { service_id => $host });
        my $ua = data0($r)->{user_service_id};
        $r = $s->req(PUT => '/shm/v1/service/order', session => $sb,
            json => { service_id => $host });
        my $ub = data0($r)->{user_service_id};

        subtest 'the caller list (R50)' => sub {
            my $r = $s->req(GET => '/shm/v1/user/service', session => $sa);
            is $r->{status}, 200, 'listed';
            is $r->{json}{items}, 2, 'parent and child';
            my ($p) = grep { $_->{user_service_id} == $ua } @{ $r->{json}{data} };
            is_deeply $p->{service}, { name => 'Hosting', cost => 100, category => 'web' },
                'service summary';
            is $p->{status}, 'ACTIVE', 'ACTIVE';
            ok !exists $p->{$_}, "$_ hidden"
                for qw(user_id auto_bill withdraw_id status_before settings);
            $r = $s->req(GET => '/shm/v1/user/service', session => $sa,
                query => { user_service_id => $ub });
            is $r->{status}, 404, "another user's service: 404 (D11)";
            $r = $s->req(GET => '/shm/v1/user/service', session => $sa,
                query => { user_service_id => $ua });
            is $r->{json}{items}, 1, 'one by id';
        };

        subtest 'delete, stop and change (R51–R53)' => sub {
            my $r = $s->req(DELETE => '/shm/v1/user/service', session => $sa,
                query => { user_service_id => $ua });
            is $r->{status}, 400, 'ACTIVE: 400';
            is $r->{json}{error}, "Can't delete service with status: ACTIVE", 'message';
            $r = $s->req(DELETE => '/shm/v1/user/service', session => $sa,
                query => { user_service_id => $ub });
            is $r->{status}, 404, "another user's: 404";
            $r = $s->req(POST => '/shm/v1/user/service/stop', session => $sa,
                json => { user_service_id => $ub });
            is $r->{status}, 404, "stop another user's: 404";
            $r = $s->req(POST => '/shm/v1/user/service/change', session => $sa,
                json => { user_service_id => $ua, service_id => $secret });
            is $r->{status}, 403, 'change to a service outside the price list: 403 (D16)';
            $r = $s->req(POST => '/shm/v1/user/service/stop', session => $sa,
                json => { user_service_id => $ua });
            is $r->{status}, 200, 'stopped';
            is data0($r)->{status}, 'BLOCK', 'BLOCK';
            $r = $s->req(DELETE => '/shm/v1/user/service', session => $sa,
                query => { user_service_id => $ua });
            is $r->{status}, 200, 'deleted' or diag $r->{body};
            is data0($r)->{status}, 'REMOVED', 'REMOVED';
            $r = $s->req(GET => '/shm/v1/user/service', session => $sa);
            is $r->{json}{items}, 0, 'REMOVED hidden from the list';
            $r = $s->req(GET => '/shm/v1/user/service', session => $sa,
                query => { user_service_id => $ua });
            is $r->{json}{items}, 1, 'shown by id';
        };

        subtest 'admin list and edits (R110–R113, R119–R122)' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid{bob} });
            is $r->{json}{items}, 1, 'top-level only by default';
            my $row = data0($r);
            is $row->{name}, 'Hosting', 'name';
            is $row->{services}{service_id}, $host, 'services object';
            is $row->{withdraws}{total}, 100, 'withdraws object';
            is $row->{category}, 'web', 'joined service column';
            $r = $s->req(GET => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid{bob}, filter => '{"parent":' . $ub . '}' });
            is $r->{json}{items}, 1, 'children with a parent filter';

            $r = $s->req(PUT => '/shm/v1/admin/user/service', %A,
                json => { user_id => $uid{bob}, service_id => $host });
            is $r->{status}, 200, 'raw insert' or diag $r->{body};
            my $raw = data0($r);
            is $raw->{status}, 'INIT', 'INIT, no billing';
            is $raw->{withdraw_id}, undef, 'no withdraw';

            $r = $s->req(POST => '/shm/v1/admin/user/service', %A, json => { user_id => $uid{bob},
                user_service_id => $raw->{user_service_id}, next => -1,
                settings => { quota => 5 }, auto_bill => 0 });
            is $r->{status}, 200, 'edited' or diag $r->{body};
            is data0($r)->{next}, -1, 'next';
            is_deeply data0($r)->{settings}, { quota => 5 }, 'settings replaced';
            is data0($r)->{auto_bill}, 0, 'auto_bill';

            $r = $s->req(POST => '/shm/v1/admin/user/service/status', %A, json => {
                user_id => $uid{bob}, user_service_id => $ub, status => 'REMOVED' });
            is $r->{status}, 400, 'manual status: only ACTIVE or BLOCK';
            $r = $s->req(POST => '/shm/v1/admin/user/service/status', %A, json => {
                user_id => $uid{bob}, user_service_id => $ub, status => 'BLOCK' });
            is data0($r)->{status}, 'BLOCK', 'manual BLOCK';
            $r = $s->req(POST => '/shm/v1/admin/user/service/activate', %A, json => {
                user_id => $uid{bob}, user_service_id => $ub });
            is data0($r)->{status}, 'ACTIVE', 'activate_force';
            $r = $s->req(POST => '/shm/v1/admin/user/service/touch', %A, json => {
                user_id => $uid{alice}, user_service_id => $ub });
            is $r->{status}, 404, 'usi of another user than user_id: 404';
            $r = $s->req(POST => '/shm/v1/admin/user/service/touch', %A, json => {
                user_id => $uid{bob}, user_service_id => $ub });
            is data0($r)->{status}, 'ACTIVE', 'touch: nothing to do';
            $r = $s->req(DELETE => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid{bob}, user_service_id => $ub, force => 1 });
            is data0($r)->{status}, 'REMOVED', 'admin delete with force';
        };

        subtest 'withdraw routes (R115, R118)' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/user/service/withdraw', %A,
                query => { user_id => $uid{alice} });
            is $r->{status}, 200, 'listed';
            is $r->{json}{items}, 1, "alice's withdraw";
            is data0($r)->{name}, 'Hosting', 'with the service name';
            my $paid = data0($r)->{withdraw_id};
            $r = $s->req(DELETE => '/shm/v1/admin/user/service/withdraw', %A,
                query => { user_id => $uid{alice}, withdraw_id => $paid });
            is $r->{status}, 400, 'a paid withdraw cannot be deleted';
            $r = $s->req(PUT => '/shm/v1/admin/service', %A, json => { name => 'Big',
                cost => 5000, period => 1, category => 'web', allow_to_order => 1 });
            $r = $s->req(PUT => '/shm/v1/service/order', session => $sa,
                json => { service_id => data0($r)->{service_id} });
            is data0($r)->{status}, 'NOT PAID', 'not enough money: NOT PAID';
            my @unpaid = $s->sql("SELECT withdraw_id FROM withdraw_history WHERE user_id = "
                . "$uid{alice} AND withdraw_date IS NULL ORDER BY withdraw_id");
            ok scalar @unpaid, 'an unpaid withdraw (not enough money)';
            $r = $s->req(DELETE => '/shm/v1/admin/user/service/withdraw', %A,
                query => { user_id => $uid{bob}, withdraw_id => $unpaid[0] });
            is $r->{status}, 404, "another user's withdraw: 404";
            $r = $s->req(DELETE => '/shm/v1/admin/user/service/withdraw', %A,
                query => { user_id => $uid{alice}, withdraw_id => $unpaid[0] });
            is $r->{status}, 200, 'unpaid withdraw deleted';
        };
        subtest 'withdraw add and edit (R116, R117, §15.3)' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/user', %A,
                json => { login => 'carol', password => 'Password1' });
            my $cu = data0($r)->{user_id};
            $s->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $cu, balance => 1000 });
            $r = $s->req(PUT => '/shm/v1/admin/service/order', %A,
                json => { user_id => $cu, service_id => $host });
            my $usi = data0($r)->{user_service_id};
            my $cur = data0($s->req(GET => '/shm/v1/admin/user/service', %A,
                query => { user_id => $cu, user_service_id => $usi }))->{withdraw_id};
            $r = $s->req(PUT => '/shm/v1/admin/user/service/withdraw', %A, json => {
                user_id => $cu, user_service_id => $usi, service_id => $host, cost => 50 });
            is $r->{status}, 200, 'queued withdraw added' or diag $r->{body};
            is data0($r)->{total}, 50, 'total from the given cost';
            is data0($r)->{withdraw_date}, undef, 'unpaid';
            my $queued = data0($r)->{withdraw_id};
            $r = $s->req(POST => '/shm/v1/admin/user/service/withdraw', %A,
                json => { user_id => $cu, withdraw_id => $queued, cost => 60 });
            is $r->{status}, 400, 'not the current one';
            is $r->{json}{error}, 'This item cannot be edited because it is from the past',
                'message';
            $r = $s->req(POST => '/shm/v1/admin/user/service/withdraw', %A,
                json => { user_id => $cu, withdraw_id => $cur, cost => 80, dry_run => 1 });
            is data0($r)->{total}, 80, 'dry_run preview';
            my $bal = sub {
                jenc($s->req(GET => '/shm/v1/admin/user', %A, query => { user_id => $cu }),
                    'data', 0, 'balance');
            };
            is $bal->(), 900, 'dry_run: nothing changed';
            $r = $s->req(POST => '/shm/v1/admin/user/service/withdraw', %A,
                json => { user_id => $cu, withdraw_id => $cur, cost => 80 });
            is $r->{status}, 200, 'edited' or diag $r->{body};
            is data0($r)->{total}, 80, 'recomputed total';
            is $bal->(), 920, 'the difference returned to the balance';
            $r = $s->req(POST => '/shm/v1/admin/user/service/withdraw', %A,
                json => { user_id => $uid{alice}, withdraw_id => $cur, cost => 1 });
            is $r->{status}, 404, "another user's withdraw: 404";
        };
        ledger_ok($s, 'user services');
        $s->stop;
    };
}

done_testing;
