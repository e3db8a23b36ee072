# The service catalogue: GET /service for users, admin CRUD with soft delete, children,
# categories, the list machinery and input validation (api.md §5.4, §9, §11.3 R62,
# §11.5 R80–R83, R86, R87, §11.7 R114, §14.1 "admin services" and "services", §14.2
# rows 20, 21, 23, 26, 28; data-model.md §3.2; golden 21, 23, 25, 27).
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use JSON::PP ();
use BilldTest qw(engines canon jenc);

my $CANON = JSON::PP->new->canonical->allow_nonref;

# Canonical JSON text of a Perl structure (characters, like jenc).
sub cj { $CANON->encode($_[0]) }

# A service row as an admin sees it: the observed defaults of a new service (api.md §14.2
# row 26) overridden by %o.
sub row {
    my (%o) = @_;
    return {
        allow_to_order => undef, category => undef, children => undef, config => undef,
        cost => 0, deleted => 0, descr => undef, is_composite => 0, max_count => undef,
        name => undef, next => 0, no_discount => 0, pay_always => 0, pay_in_credit => 0,
        period => 1, question => undef, service_id => undef, %o,
    };
}

sub ids {
    my ($r) = @_;
    my $d = ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' ? $r->{json}{data} : [];
    return [ map { $_->{service_id} } @$d ];
}

# Checks an error answer: status and the exact body.
sub fails {
    my ($r, $status, $msg, $name) = @_;
    is $r->{status}, $status, "$name: $status";
    is canon($r), cj({ error => $msg, status => $status }), "$name: body";
}

my $SEED = row(service_id => 1, name => 'Тестовая услуга', category => 'test', children => [],
    allow_to_order => 0, pay_always => 1);

for my $engine (engines()) {
    subtest $engine => sub {
        my $s   = BilldTest->start(engine => $engine);
        my %A   = (session => $s->admin_session);
        my $usr = $s->register('svc_user', 'Secret123');
        my %U   = (session => $s->login('svc_user', 'Secret123'));
        my $put = sub { $s->req(PUT => '/shm/v1/admin/service', %A, json => {@_}) };
        my $post = sub { $s->req(POST => '/shm/v1/admin/service', %A, json => {@_}) };
        my $get = sub { $s->req(GET => '/shm/v1/admin/service', %A, query => {@_}) };
        my $kids = sub { $s->req(POST => '/shm/v1/admin/service/children', %A, json => {@_}) };
        my $count = sub { ($s->sql('SELECT count(*) FROM services'))[0] };

        subtest 'seed' => sub {
            my $r = $get->();
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), cj([$SEED]), 'the seeded service, all columns';
            is jenc($r, 'items'), '1', 'items 1';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date items limit offset status)],
              'list envelope';
        };

        my $vps;
        subtest 'create and update (golden 26, 27)' => sub {
            my $r = $put->(name => 'Golden VPS', cost => 150, period => 1, category => 'vps',
                allow_to_order => 1);
            is $r->{status}, 200, 'PUT: 200';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'PUT envelope';
            $vps = $r->{json}{data}[0]{service_id};
            is $vps, 2, 'the next id after the seed';
            is jenc($r, 'data'), cj([ row(service_id => 2, name => 'Golden VPS', cost => 150,
                category => 'vps', allow_to_order => 1) ]), 'created with the observed defaults';

            $r = $post->(service_id => $vps, cost => 155.5);
            is $r->{status}, 200, 'POST: 200';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'POST envelope';
            is jenc($r, 'data'), cj([ row(service_id => 2, name => 'Golden VPS', cost => 155.5,
                category => 'vps', allow_to_order => 1) ]), 'golden 27: cost 155.5';

            fails $post->(service_id => 999999, cost => 1), 404, 'Object not found. Check the ID.',
              'golden 28: unknown id';
        };

        subtest 'SHM admin services test (api.md §14.1)' => sub {
            my $r = $get->(service_id => $vps);
            is_deeply ids($r), [$vps], '?service_id: one row';
            is jenc($r, 'items'), '1', '?service_id: items 1';
            is jenc($r, 'data', 0, 'cost'), '155.5', '?service_id: cost';

            $r = $post->(service_id => $vps, cost => 400);
            is jenc($r, 'data', 0, 'cost'), '400', 'POST cost 400: returned';
            is jenc($get->(service_id => $vps), 'data', 0, 'cost'), '400', 'cost 400: re-read';
            $post->(service_id => $vps, cost => 155.5);
            is jenc($get->(service_id => $vps), 'data', 0, 'cost'), '155.5', 'cost back';

            my %new = (service_id => 1000, name => 'Thousand', category => 'test', cost => 123);
            $r = $put->(%new);
            is $r->{status}, 200, 'PUT with service_id: 200';
            is jenc($r, 'data'), cj([ row(%new) ]), 'created with id 1000';
            fails $put->(%new), 400, "Can't add a new object. Perhaps it already exists?",
              'the same PUT again';

            $r = $s->req(DELETE => '/shm/v1/admin/service', %A, query => { service_id => 1000 });
            is $r->{status}, 200, 'DELETE: 200';
            is jenc($r, 'data'), '[]', 'DELETE: data empty';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'DELETE envelope';
            $r = $s->req(DELETE => '/shm/v1/admin/service', %A, query => { service_id => 1000 });
            is $r->{status}, 200, 'a second DELETE: no error';
            is_deeply [ $s->sql('SELECT deleted FROM services WHERE service_id = 1000') ], [1],
              'the row stays, deleted = 1';
            is jenc($get->(service_id => 1000), 'data', 0, 'deleted'), '1',
              '?service_id shows the deleted row';
            is_deeply ids($get->()), [ $vps, 1 ], 'the default list hides it';
            fails $s->req(DELETE => '/shm/v1/admin/service', %A, query => { service_id => 4242 }),
              404, 'Object not found. Check the ID.', 'DELETE unknown id';

            $r = $put->(name => 'After thousand', cost => 1);
            is jenc($r, 'data', 0, 'service_id'), '1001',
              'a new service without an id follows the largest id (both engines)';
            $r = $post->(service_id => 1000, deleted => 0);
            is jenc($r, 'data', 0, 'deleted'), '0', 'POST deleted=0 restores a service';
            $s->req(DELETE => '/shm/v1/admin/service', %A, query => { service_id => 1000 });
        };

        my %t;    # the tariff tree: parent and children ids
        subtest 'Tariff tree' => sub {
            my $r = $put->(name => 'Tariff', cost => 100, period => 1, category => 'web_tariff',
                allow_to_order => 1, descr => 'Hosting tariff ${QUOTA}');
            is $r->{status}, 200, 'parent created';
            $t{parent} = $r->{json}{data}[0]{service_id};
            for ([ web => 'Site hosting (${QUOTA} MB)' ], [ mail => 'Mail' ],
                 [ mysql => 'DB hosting' ]) {
                my ($cat, $name) = @$_;
                $r = $put->(name => $name, cost => 0, category => $cat);
                is $r->{status}, 200, "$cat child created";
                is $r->{json}{data}[0]{name}, $name, "$cat: name kept verbatim";
                $t{$cat} = $r->{json}{data}[0]{service_id};
            }
            my @set = ({ service_id => 0 + $t{web}, qnt => 1 }, { service_id => 0 + $t{mail}, qnt => 2 },
                       { service_id => 0 + $t{mysql}, qnt => 1 });
            $r = $kids->(service_id => $t{parent},
                children => [ { service_id => $t{web} }, { service_id => $t{mail}, qnt => 2 },
                              $t{mysql}, $t{parent} ]);
            is $r->{status}, 200, 'POST children: 200';
            is jenc($r, 'data'), cj(\@set),
              'the stored list: qnt defaults to 1, a legacy id normalised, the self-reference dropped';

            $r = $s->req(GET => '/shm/v1/admin/service/children', %A,
                query => { service_id => $t{parent} });
            is $r->{status}, 200, 'GET children: 200';
            is jenc($r, 'items'), '3', 'GET children: items 3';
            is jenc($r, 'data'), cj([
                { %{ row(service_id => 0 + $t{web}, name => 'Site hosting (${QUOTA} MB)',
                         category => 'web') }, qnt => 1 },
                { %{ row(service_id => 0 + $t{mail}, name => 'Mail', category => 'mail') }, qnt => 2 },
                { %{ row(service_id => 0 + $t{mysql}, name => 'DB hosting', category => 'mysql') },
                  qnt => 1 },
            ]), 'GET children: each child row with its qnt, in the stored order';

            $r = $get->(service_id => $t{parent});
            is jenc($r, 'data'), cj([ row(service_id => 0 + $t{parent}, name => 'Tariff', cost => 100,
                category => 'web_tariff', allow_to_order => 1, descr => 'Hosting tariff ${QUOTA}',
                children => \@set) ]), 'GET /admin/service?service_id=: children and all columns';

            $r = $get->(parent => $t{parent});
            is_deeply ids($r), [ $t{mysql}, $t{mail}, $t{web} ], '?parent= lists the children';

            $r = $s->req(GET => '/shm/v1/service', %U, query => { service_id => $t{parent} });
            is $r->{status}, 200, 'user GET /service: 200';
            is jenc($r, 'data'), cj([ { category => 'web_tariff', cost => 100,
                descr => 'Hosting tariff ${QUOTA}', name => 'Tariff', period => 1,
                service_id => 0 + $t{parent} } ]), 'user view: hidden fields removed (api.md §5.4)';
            is jenc($r, 'items'), '1', 'user view: items 1';

            $r = $s->req(GET => '/shm/v1/service', %U, query => { service_id => $t{mail} });
            is_deeply ids($r), [ $t{mail} ], 'a child that is not orderable is shown (SHM test)';
            is jenc($r, 'items'), '1', 'child: items 1';

            $r = $post->(service_id => $t{parent}, children => [], name => 'Tariff');
            is $r->{status}, 200, 'POST /admin/service with children: 200';
            is jenc($r, 'data', 0, 'children'), cj(\@set), 'children unchanged by an update (R82)';
            $r = $post->(service_id => $t{parent}, children => []);
            is jenc($r, 'data', 0, 'children'), cj(\@set), 'children alone: nothing changes';
        };

        subtest 'children: cycles and errors' => sub {
            my ($p, $web, $mail, $db) = @t{qw(parent web mail mysql)};
            fails $kids->(service_id => $web, children => [$p]), 400,
              "Field children: would create a cycle: $web -> $p -> $web", 'A -> B -> A';
            is_deeply [ $s->sql("SELECT children FROM services WHERE service_id = $web") ], [''],
              'nothing stored';
            my $r = $kids->(service_id => $web, children => [$mail]);
            is $r->{status}, 200, 'web -> mail';
            $r = $kids->(service_id => $mail, children => [$db]);
            is $r->{status}, 200, 'mail -> db';
            fails $kids->(service_id => $db, children => [ { service_id => $p, qnt => 1 } ]), 400,
              "Field children: would create a cycle: $db -> $p -> $web -> $mail -> $db",
              'a longer chain back to the root';
            fails $kids->(service_id => $db, children => [$web]), 400,
              "Field children: would create a cycle: $db -> $web -> $mail -> $db", 'a chain of three';
            $r = $kids->(service_id => $db, children => [$db]);
            is jenc($r, 'data'), '[]', 'only a self-reference: an empty list';
            $kids->(service_id => $web, children => []);
            $kids->(service_id => $mail, children => []);

            fails $kids->(service_id => $p, children => [ 999999 ]), 400,
              'Field children[0]: no service with id 999999', 'unknown child';
            fails $kids->(service_id => $p, children => [ $web, 1000 ]), 400,
              'Field children[1]: service 1000 is deleted', 'deleted child';
            fails $kids->(service_id => $p, children => [ { service_id => $web, qnt => 0 } ]), 400,
              'Field children[0].qnt: must be a positive number up to 1000000', 'qnt 0';
            fails $kids->(service_id => $p, children => [ { service_id => $web, qnt => -1 } ]), 400,
              'Field children[0].qnt: must be a positive number up to 1000000', 'negative qnt';
            fails $kids->(service_id => $p, children => [ { service_id => $web, qnt => 'x' } ]), 400,
              'Field children[0].qnt: must be a positive number up to 1000000', 'qnt not a number';
            fails $kids->(service_id => $p, children => [ { qnt => 1 } ]), 400,
              'Field children[0].service_id: must be a positive integer', 'entry without service_id';
            fails $kids->(service_id => $p, children => [ 'abc' ]), 400,
              'Field children[0]: expected a service id or {service_id, qnt}', 'entry not an id';
            fails $kids->(service_id => $p, children => { service_id => $web }), 400,
              'Field children: expected an array of {service_id, qnt}', 'children not an array';
            fails $kids->(service_id => $p, children => [ (1) x 257 ]), 400,
              'Field children: more than 256 entries', 'too many children';
            fails $kids->(service_id => $p, children => [], name => 'x'), 400,
              'Unknown field: name', 'unknown field';
            fails $kids->(service_id => $p), 400, 'Field required: children', 'children missing';
            fails $kids->(children => []), 400, 'Field required: service_id', 'service_id missing';
            fails $kids->(service_id => 'abc', children => []), 400,
              'Field service_id: must be a positive integer', 'service_id not an integer';
            fails $kids->(service_id => 4242, children => []), 404,
              'Object not found. Check the ID.', 'POST unknown service';
            fails $s->req(GET => '/shm/v1/admin/service/children', %A, query => { service_id => 4242 }),
              404, 'Object not found. Check the ID.', 'GET unknown service';
            fails $s->req(GET => '/shm/v1/admin/service/children', %A), 400,
              'Field required: service_id', 'GET without service_id';
            is jenc($get->(service_id => $p), 'data', 0, 'children', 1, 'qnt'), '2',
              'the failed requests changed nothing';

            # Form-encoded clients send the list as JSON text.
            $r = $s->req(POST => '/shm/v1/admin/service/children', %A,
                form => { service_id => $p, children => "[$web,{\"service_id\":$mail,\"qnt\":3}]" });
            is $r->{status}, 200, 'form-encoded children: 200';
            is jenc($r, 'data'), cj([ { service_id => 0 + $web, qnt => 1 },
                { service_id => 0 + $mail, qnt => 3 } ]), 'form-encoded children stored';

            # Created with children, a fractional qnt and a config object.
            $r = $put->(name => 'Bundle', cost => 10, is_composite => 1,
                children => [ { service_id => $web, qnt => 0.5 }, $db ],
                config => { order_only_once => 1, nested => { list => [ 1, 'two', { three => 3 } ] } });
            is $r->{status}, 200, 'PUT with children: 200';
            is jenc($r, 'data', 0, 'children'), cj([ { service_id => 0 + $web, qnt => 0.5 },
                { service_id => 0 + $db, qnt => 1 } ]), 'children normalised on create';
            is jenc($r, 'data', 0, 'config'),
              '{"nested":{"list":[1,"two",{"three":3}]},"order_only_once":1}', 'config kept';
            is jenc($r, 'data', 0, 'is_composite'), '1', 'composite flag';
            fails $put->(name => 'Bad', cost => 1, children => [ 999999 ]), 400,
              'Field children[0]: no service with id 999999', 'PUT with an unknown child';
        };

        subtest 'validation' => sub {
            my $before = $count->();
            my @cases = (
                [ { name => 'x', cost => 1, nope => 1 }, 'Unknown field: nope' ],
                [ { cost => 1 }, 'Field required: name' ],
                [ { name => '', cost => 1 }, 'Field required: name' ],
                [ { name => 'x' }, 'Field required: cost' ],
                [ { name => 'x' x 65, cost => 1 }, 'Field name: longer than 64 characters' ],
                [ { name => 'x', cost => 1, category => 'c' x 17 },
                  'Field category: longer than 16 characters' ],
                [ { name => 'x', cost => 1, descr => 'd' x 256 },
                  'Field descr: longer than 255 characters' ],
                [ { name => 'x', cost => -1 }, 'Field cost: must not be negative' ],
                [ { name => 'x', cost => 'abc' }, 'Field cost: expected an amount with at most 2 decimals' ],
                [ { name => 'x', cost => 1.234 }, 'Field cost: expected an amount with at most 2 decimals' ],
                [ { name => 'x', cost => 1, period => 0 }, 'Field period: must be greater than zero' ],
                [ { name => 'x', cost => 1, pay_always => 2 }, 'Field pay_always: must be 0 or 1' ],
                [ { name => 'x', cost => 1, no_discount => 'yes' }, 'Field no_discount: expected an integer' ],
                [ { name => 'x', cost => 1, is_composite => undef }, 'Field is_composite: must be 0 or 1' ],
                [ { name => 'x', cost => 1, config => [1] }, 'Field config: must be a JSON object' ],
                [ { name => 'x', cost => 1, next => 999999 }, 'Field next: no service with id 999999' ],
                [ { name => 'x', cost => 1, next => 1000 }, 'Field next: service 1000 is deleted' ],
                [ { name => 'x', cost => 1, next => -1 }, 'Field next: must not be negative' ],
                [ { name => 'x', cost => 1, max_count => 'many' }, 'Field max_count: expected an integer' ],
                [ { name => 'x', cost => 1, service_id => 0 }, 'Field service_id: must be a positive integer' ],
                [ { name => 'x', cost => 1, service_id => -5 }, 'Field service_id: must not be negative' ],
                [ { name => 'x', cost => 1, service_id => 'abc' }, 'Field service_id: expected an integer' ],
                [ { name => { a => 1 }, cost => 1 }, 'Field name: expected a string' ],
            );
            # ('' is not here: SHM replaces an empty value on insert by the default, period 1)
            for my $p ('-1', '1.23456', 'abc', '1e3', '1.2.3') {
                push @cases, [ { name => 'x', cost => 1, period => $p },
                    'Field period: expected a period M.DDHH' ];
            }
            for my $c (@cases) {
                my ($args, $msg) = @$c;
                my $r = $put->(%$args);
                my $what = substr(cj($args), 0, 60);
                fails $r, 400, $msg, "PUT $what";
            }
            is $count->(), $before, 'no row was created';

            my $d = $put->(name => 'empty period', cost => 1, period => '');
            is $d->{status}, 200, 'an empty period on create takes the default';
            is $d->{json}{data}[0]{period}, 1, 'default period 1';
            $s->sql("DELETE FROM services WHERE service_id = $d->{json}{data}[0]{service_id}");
            $before = $count->();

            my $r = $put->(name => 'ы' x 64, cost => 0.01, category => 'к' x 16, descr => 'д' x 255);
            is $r->{status}, 200, 'limits count characters, not bytes';
            my $id = $r->{json}{data}[0]{service_id};
            is jenc($r, 'data', 0, 'cost'), '0.01', 'cost 0.01';

            fails $post->(service_id => $id, name => ''), 400, 'Field name: must not be empty',
              'POST empty name';
            fails $post->(service_id => $id, cost => undef), 400, 'Field cost: must not be null',
              'POST cost null';
            fails $post->(service_id => $id, period => undef), 400, 'Field period: must not be null',
              'POST period null';
            fails $post->(service_id => $id, foo => 1), 400, 'Unknown field: foo', 'POST unknown field';
            fails $post->(name => 'x'), 400, 'Field required: service_id', 'POST without service_id';
            fails $post->(service_id => 'abc', name => 'x'), 400,
              'Field service_id: expected an integer', 'POST service_id not an integer';
            fails $s->req(DELETE => '/shm/v1/admin/service', %A), 400, 'Field required: service_id',
              'DELETE without service_id';

            $r = $post->(service_id => $id, period => '1.0015', pay_always => JSON::PP::true,
                no_discount => '1', pay_in_credit => 1, allow_to_order => undef, max_count => 3,
                question => 1, next => $vps, descr => undef,
                config => { b => { c => [ 1, { d => undef } ] }, a => 'x' });
            is $r->{status}, 200, 'POST many columns: 200';
            is jenc($r, 'data', 0, 'period'), '1.0015', 'period 1.0015';
            is jenc($r, 'data', 0, 'pay_always'), '1', 'flag true stored as 1';
            is jenc($r, 'data', 0, 'no_discount'), '1', 'flag "1" stored as 1';
            is jenc($r, 'data', 0, 'next'), "$vps", 'next';
            is jenc($r, 'data', 0, 'descr'), 'null', 'descr null';
            is jenc($r, 'data', 0, 'config'), '{"a":"x","b":{"c":[1,{"d":null}]}}',
              'nested config verbatim';
            $r = $post->(service_id => $id, period => 2.1012, dry_run => 1);
            is jenc($r, 'data', 0, 'period'), '2.1012', 'dry_run shows period 2.1012';
            is jenc($get->(service_id => $id), 'data', 0, 'period'), '1.0015', 'dry_run: nothing stored';
            $r = $post->(service_id => $id, config => '{"from":"a string"}');
            is jenc($r, 'data', 0, 'config'), '{"from":"a string"}', 'config given as JSON text';
            $r = $post->(service_id => $id, config => undef);
            is jenc($r, 'data', 0, 'config'), 'null', 'config cleared';
        };

        subtest 'lists' => sub {
            my @live = reverse map { 0 + $_ }
              $s->sql('SELECT service_id FROM services WHERE deleted = 0 ORDER BY service_id');
            my $r = $get->(limit => 3, offset => 2);
            is $r->{status}, 200, 'limit/offset: 200';
            is_deeply ids($r), [ @live[ 2 .. 4 ] ], 'the 3rd to 5th, primary key descending';
            is jenc($r, 'items'), scalar(@live), 'items = all non-deleted services (D24)';
            is jenc($r, 'limit'), '"3"', 'limit echoed as given';
            is jenc($r, 'offset'), '"2"', 'offset echoed as given';

            $r = $get->(filter => '{"name":"%hosting%"}', limit => 5);
            is_deeply ids($r), [ $t{mysql}, $t{web} ], 'LIKE filter (case-insensitive)';
            is jenc($r, 'filter'), '{"name":"%hosting%"}', 'filter echoed';

            $put->(name => 'Tariff MAX', cost => 200, category => 'web_tariff');
            $r = $get->(sort_field => 'cost', sort_direction => 'desc',
                filter => '{"category":"web_tariff"}');
            is_deeply [ map { $_->{cost} } @{ $r->{json}{data} } ], [ 200, 100 ], 'sorted by cost';

            $r = $get->(filter => '{"deleted":1}');
            is_deeply ids($r), [1000], 'filter.deleted shows deleted services';
            $r = $get->(filter => '{"service_id":1000}');
            is_deeply ids($r), [], 'other filters keep hiding them';
            $r = $get->(fields => 'service_id,name', limit => 1);
            is_deeply [ sort keys %{ $r->{json}{data}[0] } ], [qw(name service_id)], 'fields';

            fails $get->(filter => '{"nope":1}'), 400, 'Unknown filter field: nope', 'unknown filter';
            fails $get->(service_id => 'x'), 400, 'Field service_id: must be a positive integer',
              '?service_id=x';
            fails $get->(parent => 4242), 404, 'Object not found. Check the ID.', '?parent unknown';
        };

        subtest 'categories (R114)' => sub {
            $put->(name => 'No category', cost => 0, category => '');
            my $r = $s->req(GET => '/shm/v1/admin/user/service/categories', %A);
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'),
              cj([ 'mail', 'mysql', 'test', 'vps', 'web', 'web_tariff', 'к' x 16 ]),
              'distinct, non-empty categories of non-deleted services, sorted';
            is jenc($r, 'items'), '7', 'items';
        };

        subtest 'users' => sub {
            my $r = $s->req(GET => '/shm/v1/service', %U);
            fails $r, 400, 'Field required: service_id', 'golden 21: no service_id';
            $r = $s->req(GET => '/shm/v1/service', %U, query => { service_id => 1 });
            is jenc($r, 'data'), cj([ { category => 'test', cost => 0, descr => undef,
                name => 'Тестовая услуга', period => 1, service_id => 1 } ]), 'the seeded service';
            $r = $s->req(GET => '/shm/v1/service', %U, query => { service_id => 1000 });
            is $r->{status}, 200, 'a deleted service: 200';
            is jenc($r, 'data'), '[]', 'a deleted service is never shown';
            is jenc($r, 'items'), '0', 'items 0';
            $r = $s->req(GET => '/shm/v1/service', %U, query => { service_id => 1,
                filter => '{"deleted":1}' });
            is $r->{status}, 400, 'users cannot filter on hidden columns';
            $r = $s->req(GET => '/shm/v1/service', query => { service_id => 1 });
            is $r->{status}, 401, 'anonymous: 401';

            for my $req ([ GET => '/admin/service' ], [ PUT => '/admin/service' ],
                         [ POST => '/admin/service' ], [ DELETE => '/admin/service' ],
                         [ GET => '/admin/service/children' ], [ POST => '/admin/service/children' ],
                         [ GET => '/admin/user/service/categories' ]) {
                $r = $s->req($req->[0], "/shm/v1$req->[1]", %U,
                    json => { service_id => 1, name => 'x', cost => 1, children => [] });
                fails $r, 403, 'Permission denied', "$req->[0] $req->[1] as a user";
            }
            is jenc($get->(service_id => 1), 'data'), cj([$SEED]), 'the seeded service is unchanged';
        };

        $s->stop;
    };
}

done_testing;
