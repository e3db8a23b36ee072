# GET /admin/user/service (api.md R110, §9.2, §9.8): the filters `name` and `next` on the
# joined service (plain values, LIKE masks, operator maps; the envelope echoes the filter as
# given), and SHM's in-memory re-sort of the page: by sort_field (user_service_id when absent
# or unknown), `expire`/`created` as strings and the rest numerically, descending only for a
# lower-case "desc" — so "DESC" fetches the page in descending order and shows it ascending.
# Both engines, test clock.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines);
use JSON::PP;

my ($S, %A);

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub clock {
    my ($now) = @_;
    my $r = $S->req(POST => '/shm/v1/admin/test/clock', %A, json => { now => $now });
    die "clock: $r->{body}" unless $r->{status} == 200;
}

sub mkservice {
    my (%f) = @_;
    my $r = $S->req(PUT => '/shm/v1/admin/service', %A,
        json => { category => 'ls', period => 1, allow_to_order => 1, cost => 0, %f });
    die "cannot create a service: $r->{body}" unless $r->{status} == 200;
    return data0($r)->{service_id};
}

sub order {
    my ($uid, $sid) = @_;
    my $r = $S->req(PUT => '/shm/v1/admin/service/order', %A,
        json => { user_id => $uid, service_id => $sid });
    die "cannot order: $r->{body}" unless $r->{status} == 200;
    return data0($r)->{user_service_id};
}

sub list {
    my (%q) = @_;
    return $S->req(GET => '/shm/v1/admin/user/service', %A, query => {%q});
}

sub ids {
    my ($r) = @_;
    return [ map { $_->{user_service_id} } @{ $r->{json}{data} || [] } ];
}

for my $engine (engines()) {
    subtest $engine => sub {
        $S = BilldTest->start(engine => $engine,
            env => { BILLD_TEST_CLOCK => 1, TZ => 'UTC' });
        %A = (session => $S->admin_session);
        my $r = $S->req(PUT => '/shm/v1/admin/user', %A,
            json => { login => 'lister', password => 'Password1' });
        my $uid = data0($r)->{user_id};

        # services up to id 10 and beyond, so string and numeric order differ
        my @filler = map { mkservice(name => "filler $_") } 1 .. 8;
        my $alpha = mkservice(name => 'Alpha hosting');
        my $beta  = mkservice(name => 'Beta hosting', next => $alpha);
        my $gamma = mkservice(name => 'Gamma VPS', next => $alpha);
        cmp_ok $beta, '>=', 10, 'service ids reach two digits';

        clock('2020-01-03 00:00:00');
        my $u1 = order($uid, $alpha);      # created 2020-01-03, service id < 10 or so
        clock('2020-01-01 00:00:00');
        my $u2 = order($uid, $gamma);      # created 2020-01-01
        clock('2020-01-02 00:00:00');
        my $u3 = order($uid, $beta);       # created 2020-01-02

        subtest 'in-memory re-sort (§9.2)' => sub {
            is_deeply ids(list(user_id => $uid)), [ $u1, $u2, $u3 ],
                'no direction: ascending user_service_id';
            is_deeply ids(list(user_id => $uid, sort_direction => 'desc')), [ $u3, $u2, $u1 ],
                'desc: descending';
            is_deeply ids(list(user_id => $uid, sort_direction => 'DESC')), [ $u1, $u2, $u3 ],
                'DESC: not recognised in memory, ascending';
            is_deeply ids(list(user_id => $uid, sort_direction => 'DESC', limit => 2)),
                [ $u2, $u3 ], 'DESC with limit 2: the last two ids (SQL), shown ascending';
            is_deeply ids(list(user_id => $uid, sort_field => 'created')), [ $u2, $u3, $u1 ],
                'created ascending (as strings)';
            is_deeply ids(list(user_id => $uid, sort_field => 'expire', sort_direction => 'desc')),
                [ $u1, $u3, $u2 ], 'expire descending';
            is_deeply ids(list(user_id => $uid, sort_field => 'service_id')),
                [ $u1, $u3, $u2 ], 'service_id numerically (9 < 10 < 11)';
            is_deeply ids(list(user_id => $uid, sort_field => 'nosuch', sort_direction => 'desc')),
                [ $u3, $u2, $u1 ], 'unknown sort_field: user_service_id';
        };

        subtest 'filters on the joined service (§9.8)' => sub {
            my $r = list(user_id => $uid, filter => '{"name":"Beta hosting"}');
            is $r->{status}, 200, 'name: 200' or diag $r->{body};
            is_deeply ids($r), [ $u3 ], 'name equal';
            is $r->{json}{items}, 1, 'items 1';
            is_deeply $r->{json}{filter}, { name => 'Beta hosting' }, 'the filter echoed as given';
            is $r->{json}{data}[0]{name}, 'Beta hosting', 'row name';

            is_deeply ids(list(user_id => $uid, filter => '{"name":"%hosting%"}')), [ $u1, $u3 ],
                'name LIKE';
            is_deeply ids(list(user_id => $uid, filter => '{"name":{"-like":"%VPS"}}')), [ $u2 ],
                'name operator map';
            is_deeply ids(list(user_id => $uid, filter => encode_json({ next => $alpha }))),
                [ $u2, $u3 ], 'next = the joined service\'s next';
            is_deeply ids(list(user_id => $uid,
                filter => encode_json({ next => $alpha, name => '%VPS%' }))), [ $u2 ],
                'name and next together';
            is_deeply ids(list(user_id => $uid,
                filter => encode_json({ next => $alpha, status => 'ACTIVE' }))), [ $u2, $u3 ],
                'with a user_services column';

            # the us's own next is not what the filter looks at
            $r = $S->req(POST => '/shm/v1/admin/user/service', %A,
                json => { user_id => $uid, user_service_id => $u1, next => $gamma });
            is $r->{status}, 200, 'us next set' or diag $r->{body};
            is_deeply ids(list(user_id => $uid, filter => encode_json({ next => $gamma }))), [],
                'no service has next = gamma';

            $r = list(user_id => $uid, filter => '{"name":{"--x":1}}');
            is $r->{status}, 400, 'a bad operator inside name: 400';
            $r = list(user_id => $uid, filter => '{"name":"Beta hosting","nosuch":1}');
            is $r->{status}, 400, 'an unknown column beside name: 400';
        };
        $S->stop;
    };
}

done_testing;
