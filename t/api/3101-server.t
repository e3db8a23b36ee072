# Servers and server groups: CRUD, validation, protected groups, delete guards, lists
# filtered by group and settings, and a group of two SSH servers sharing a stored key
# (api.md §11.8 R125–R132; data-model.md §3.11–3.12; spool.md §7; DECISIONS D25, D26).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);

sub err_body { my ($status, $msg) = @_; return qq({"error":"$msg","status":$status}) }

sub ids {
    my ($r, $key) = @_;
    my $d = ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' ? $r->{json}{data} : [];
    return [ map { $_->{$key} } @$d ];
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s   = BilldTest->start(engine => $engine);
        my %A   = (session => $s->admin_session);
        my ($web, $min);

        # Sends $method $path with %o and checks status and the exact body.
        my $expect = sub {
            my ($method, $path, $status, $msg, $name, %o) = @_;
            my $r = $s->req($method => "/shm/v1$path", %A, %o);
            is $r->{status}, $status, "$name: $status";
            is canon($r), err_body($status, $msg), "$name: body";
            return $r;
        };

        subtest 'groups: list and create' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/server/group', %A);
            is $r->{status}, 200, 'list: 200';
            is_deeply ids($r, 'group_id'), [ 4, 3, 2, 1 ], 'the four seeded groups, key descending';
            is jenc($r, 'items'), '4', 'items 4';
            is jenc($r, 'data', 3),
              '{"group_id":1,"name":"LOCAL","settings":null,"transport":"local","type":"random"}',
              'group 1 LOCAL';

            $r = $s->req(PUT => '/shm/v1/admin/server/group', %A,
                json => { name => 'Web', transport => 'ssh', type => 'by-one', settings => { zone => 'eu', n => [ 1, 2 ] } });
            is $r->{status}, 200, 'create: 200';
            is jenc($r, 'data', 0),
              '{"group_id":5,"name":"Web","settings":{"n":[1,2],"zone":"eu"},"transport":"ssh","type":"by-one"}',
              'create: the stored row';
            $web = $r->{json}{data}[0]{group_id};

            $r = $s->req(PUT => '/shm/v1/admin/server/group', %A, json => { name => 'Min' });
            is $r->{status}, 200, 'minimal: 200';
            is jenc($r, 'data', 0),
              '{"group_id":6,"name":"Min","settings":null,"transport":"ssh","type":"random"}',
              'minimal: defaults ssh / random';
            $min = $r->{json}{data}[0]{group_id};

            $r = $s->req(PUT => '/shm/v1/admin/server/group', %A, json => { group_id => 50, name => 'Fifty', type => 'evenly' });
            is jenc($r, 'data', 0, 'group_id'), '50', 'an explicit group_id is kept';
            $r = $s->req(PUT => '/shm/v1/admin/server/group', %A, json => { name => 'After' });
            is jenc($r, 'data', 0, 'group_id'), '51', 'the next id follows it (both engines)';

            $r = $s->req(GET => '/shm/v1/admin/server/group', %A, query => { filter => '{"type":"by-one"}' });
            is_deeply ids($r, 'group_id'), [$web], 'filter on type';
            $r = $s->req(GET => '/shm/v1/admin/server/group', %A, query => { filter => '{"settings":{"zone":"eu"}}' });
            is_deeply ids($r, 'group_id'), [$web], 'filter inside settings';
        };

        subtest 'groups: validation' => sub {
            my $p = '/admin/server/group';
            $expect->(PUT => $p, 400, 'Field type: must be one of random|by-one|evenly', 'bad type',
                json => { name => 'x', type => 'round-robin' });
            $expect->(PUT => $p, 400, 'Field transport: must be one of ssh|http|mail|local|telegram',
                'bad transport', json => { name => 'x', transport => 'ftp' });
            $expect->(PUT => $p, 400, 'Unknown field: colour', 'unknown field', json => { name => 'x', colour => 'red' });
            $expect->(PUT => $p, 400, 'Field settings: must be a JSON object', 'settings array',
                json => { name => 'x', settings => [1] });
            $expect->(PUT => $p, 400, 'Field type: must not be null', 'null type', json => { name => 'x', type => undef });
            $expect->(PUT => $p, 400, 'Field name: longer than 255 characters', 'long name', json => { name => 'n' x 256 });
            $expect->(PUT => $p, 400, 'Field group_id: expected an integer', 'group_id text',
                json => { group_id => 'abc', name => 'x' });
            my $r = $s->req(GET => "/shm/v1$p", %A, query => { filter => '{"name":"x"}' });
            is jenc($r, 'items'), '0', 'nothing was created';
        };

        subtest 'groups: update' => sub {
            my $p = '/admin/server/group';
            my $r = $s->req(POST => "/shm/v1$p", %A, json => { group_id => $web, name => 'Web hosting', type => 'evenly' });
            is $r->{status}, 200, 'update: 200';
            is jenc($r, 'data', 0),
              qq({"group_id":$web,"name":"Web hosting","settings":{"n":[1,2],"zone":"eu"},"transport":"ssh","type":"evenly"}),
              'update: the row';
            $expect->(POST => $p, 400, '`group_id` not present', 'no key', json => { name => 'y' });
            $expect->(POST => $p, 404, 'Object not found. Check the ID.', 'unknown id', json => { group_id => 999, name => 'y' });
            $expect->(POST => $p, 400, 'Field type: must be one of random|by-one|evenly', 'bad type',
                json => { group_id => $web, type => 'x' });
            $r = $s->req(POST => "/shm/v1$p", %A, json => { group_id => $web, type => 'random' });
            is jenc($r, 'data', 0, 'type'), '"random"', 'type random';
        };

        subtest 'groups: delete' => sub {
            my $p = '/admin/server/group';
            $expect->(DELETE => $p, 400, 'Server group 1 is protected and can\'t be deleted', 'group 1',
                query => { group_id => 1 });
            $expect->(DELETE => $p, 400, 'Server group 2 is protected and can\'t be deleted', 'group 2',
                query => { group_id => 2 });
            $expect->(DELETE => $p, 400, 'Field required: group_id', 'no key');
            $expect->(DELETE => $p, 404, 'Object not found. Check the ID.', 'unknown id', query => { group_id => 999 });
            my $r = $s->req(DELETE => "/shm/v1$p", %A, query => { group_id => $min });
            is $r->{status}, 200, 'empty group: 200';
            is jenc($r, 'data'), '[]', 'empty group: data []';
            $r = $s->req(GET => "/shm/v1$p", %A, query => { limit => 0 });
            is_deeply ids($r, 'group_id'), [ 51, 50, $web, 4, 3, 2, 1 ], 'the group is gone, 1 and 2 remain';
        };

        my ($s1, $s2, $kid);
        subtest 'servers: create' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/server', %A,
                json => { server_gid => $web, name => 'web-1', transport => 'ssh', host => 'root@10.0.0.1',
                          ip => '10.0.0.1', settings => { port => 22, max_services => '10', misc => { a => [ 1, 'b' ] } } });
            is $r->{status}, 200, 'create: 200';
            $s1 = $r->{json}{data}[0]{server_id};
            like $s1 // '', qr/^[1-9]\d*$/, 'an integer server_id';
            is jenc($r, 'data', 0),
              qq({"enabled":1,"fail_count":0,"host":"root\@10.0.0.1","ip":"10.0.0.1","name":"web-1","server_gid":$web,)
              . qq("server_id":$s1,"services_count":0,"settings":{"max_services":10,"misc":{"a":[1,"b"]},"port":22},)
              . '"success_count":0,"transport":"ssh","weight":100}',
              'create: defaults enabled 1 / weight 100, max_services stored as a number, other keys verbatim';

            $r = $s->req(PUT => '/shm/v1/admin/server', %A,
                json => { name => 'mailer', transport => 'mail', host => 'smtp.example:25', weight => 0, enabled => 0 });
            is $r->{status}, 200, 'a server without a group';
            is jenc($r, 'data', 0, 'server_gid'), 'null', 'server_gid null';
            is jenc($r, 'data', 0, 'weight'), '0', 'weight 0 accepted';
            is jenc($r, 'data', 0, 'enabled'), '0', 'enabled 0';
            $s2 = $r->{json}{data}[0]{server_id};
        };

        subtest 'servers: validation' => sub {
            my $p = '/admin/server';
            $expect->(PUT => $p, 400, 'Field transport: must be one of ssh|http|mail|local|telegram', 'bad transport',
                json => { transport => 'ftp' });
            $expect->(PUT => $p, 400, 'Field required: transport', 'no transport', json => { name => 'x' });
            $expect->(PUT => $p, 400, 'Field weight: must not be negative', 'negative weight',
                json => { transport => 'ssh', weight => -1 });
            $expect->(PUT => $p, 400, 'Field weight: expected an integer', 'weight text',
                json => { transport => 'ssh', weight => 'heavy' });
            $expect->(PUT => $p, 400, 'Field weight: must not be null', 'weight null',
                json => { transport => 'ssh', weight => undef });
            $expect->(PUT => $p, 400, 'Field server_gid: server group 999 does not exist', 'unknown group',
                json => { transport => 'ssh', server_gid => 999 });
            $expect->(PUT => $p, 400, 'Field server_gid: expected an integer', 'group as text',
                json => { transport => 'ssh', server_gid => 'web' });
            $expect->(PUT => $p, 400, 'Field settings.key_id: identity 999 does not exist', 'unknown key_id',
                json => { transport => 'ssh', settings => { key_id => 999 } });
            $expect->(PUT => $p, 400, 'Field settings.key_id: expected an identity id', 'key_id text',
                json => { transport => 'ssh', settings => { key_id => 'mykey' } });
            $expect->(PUT => $p, 400, 'Field settings.max_services: must be a non-negative integer', 'max_services -3',
                json => { transport => 'ssh', settings => { max_services => -3 } });
            $expect->(PUT => $p, 400, 'Field settings: must be a JSON object', 'settings text',
                json => { transport => 'ssh', settings => 'port=22' });
            $expect->(PUT => $p, 400, 'Field enabled: must be 0 or 1', 'enabled 2',
                json => { transport => 'ssh', enabled => 2 });
            $expect->(PUT => $p, 400, 'Field services_count: must not be negative', 'negative count',
                json => { transport => 'ssh', services_count => -1 });
            $expect->(PUT => $p, 400, 'Field ip: longer than 15 characters', 'long ip',
                json => { transport => 'ssh', ip => '2001:db8::1:2:3:4' });
            $expect->(PUT => $p, 400, 'Unknown field: bogus', 'unknown field', json => { transport => 'ssh', bogus => 1 });
            my $r = $s->req(GET => "/shm/v1$p", %A);
            is jenc($r, 'items'), '2', 'nothing was created';
        };

        subtest 'servers: update' => sub {
            my $p = '/admin/server';
            my $r = $s->req(POST => "/shm/v1$p", %A, json => { server_id => $s1, weight => 300, enabled => 0, host => 'root@10.0.0.9' });
            is $r->{status}, 200, 'update: 200';
            is jenc($r, 'data', 0, 'weight'), '300', 'weight 300';
            is jenc($r, 'data', 0, 'enabled'), '0', 'enabled 0';
            is jenc($r, 'data', 0, 'host'), '"root@10.0.0.9"', 'host';
            is jenc($r, 'data', 0, 'settings', 'port'), '22', 'settings untouched';
            $r = $s->req(POST => "/shm/v1$p", %A, json => { server_id => "$s1", enabled => 1 });
            is jenc($r, 'data', 0, 'enabled'), '1', 'a numeric string key works';
            $expect->(POST => $p, 400, 'Field required: server_id', 'no key', json => { weight => 1 });
            $expect->(POST => $p, 404, 'Object not found. Check the ID.', 'unknown id', json => { server_id => 9999, weight => 1 });
            $expect->(POST => $p, 400, 'Field server_id: expected an integer', 'key text', json => { server_id => 'one', weight => 1 });
            $expect->(POST => $p, 400, 'Field weight: must not be negative', 'negative weight',
                json => { server_id => $s1, weight => -5 });
            $expect->(POST => $p, 400, 'Field server_gid: server group 777 does not exist', 'unknown group',
                json => { server_id => $s1, server_gid => 777 });
            $r = $s->req(GET => "/shm/v1$p", %A, query => { filter => qq({"server_id":$s1}) });
            is jenc($r, 'data', 0, 'weight'), '300', 'failed updates changed nothing';
            is jenc($r, 'data', 0, 'server_gid'), $web, 'still in its group';
        };

        subtest 'a group of two SSH servers with a stored key' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/server/group', %A, json => { name => 'SSH farm', transport => 'ssh', type => 'random' });
            is $r->{status}, 200, 'group created';
            my $farm = $r->{json}{data}[0]{group_id};

            $r = $s->req(GET => '/shm/v1/admin/server/identity/generate', %A);
            is $r->{status}, 200, 'key generated';
            my $gen = $r->{json}{data}[0];
            $r = $s->req(PUT => '/shm/v1/admin/server/identity', %A, json => { name => 'farm key', private_key => $gen->{private_key} });
            is $r->{status}, 200, 'identity stored';
            $kid = $r->{json}{data}[0]{id};
            is $r->{json}{data}[0]{fingerprint}, $gen->{fingerprint}, 'same fingerprint as generated';

            my @farm;
            for my $n (1, 2) {
                $r = $s->req(PUT => '/shm/v1/admin/server', %A,
                    json => { server_gid => $farm, name => "farm-$n", transport => 'ssh', host => "deploy\@10.1.0.$n",
                              settings => { key_id => "$kid", port => 22 } });
                is $r->{status}, 200, "farm-$n created";
                is jenc($r, 'data', 0, 'settings'), qq({"key_id":$kid,"port":22}), "farm-$n: key_id stored as a number";
                push @farm, $r->{json}{data}[0]{server_id};
            }
            $r = $s->req(GET => '/shm/v1/admin/server', %A, query => { filter => qq({"server_gid":$farm}) });
            is $r->{status}, 200, 'list by group: 200';
            is_deeply ids($r, 'server_id'), [ reverse @farm ], 'list by group: exactly the two servers';
            is jenc($r, 'items'), '2', 'list by group: items 2';
            is_deeply [ map { $_->{settings}{key_id} } @{ $r->{json}{data} } ], [ $kid, $kid ], 'both use the key';
            $r = $s->req(GET => '/shm/v1/admin/server', %A,
                query => { filter => qq({"settings":{"key_id":$kid}}), sort_field => 'server_id', sort_direction => 'asc' });
            is_deeply ids($r, 'server_id'), \@farm, 'filter inside settings (key_id), ascending';
            $r = $s->req(GET => '/shm/v1/admin/server', %A, query => { filter => qq({"server_gid":$farm,"host":"%10.1.0.2"}) });
            is_deeply ids($r, 'server_id'), [ $farm[1] ], 'group and host LIKE';
            $r = $s->req(GET => '/shm/v1/admin/server', %A, query => { filter => '{"nope":1}' });
            is $r->{status}, 400, 'unknown filter column: 400 (D26)';

            $expect->(DELETE => '/admin/server/group', 400, "Can't delete server group $farm: it still has 2 server(s)",
                'group with servers', query => { group_id => $farm });
        };

        subtest 'servers: delete' => sub {
            my $p = '/admin/server';
            $s->sql(qq(INSERT INTO user_services (user_id, service_id, created, status, settings) VALUES (1, 1, 0, 'ACTIVE', '{"server_id":$s1}')));
            $s->sql(qq(INSERT INTO user_services (user_id, service_id, created, status, settings) VALUES (1, 1, 0, 'REMOVED', '{"server_id":$s2}')));
            $expect->(DELETE => $p, 400, "Can't delete server $s1: 1 user service(s) that are not REMOVED use it",
                'live service', query => { server_id => $s1 });
            my $r = $s->req(GET => "/shm/v1$p", %A, query => { filter => qq({"server_id":$s1}) });
            is jenc($r, 'items'), '1', 'the server is still there';

            $s->sql(qq(UPDATE user_services SET status = 'REMOVED' WHERE status = 'ACTIVE'));
            $r = $s->req(DELETE => "/shm/v1$p", %A, query => { server_id => $s1 });
            is $r->{status}, 200, 'after REMOVED: 200';
            is jenc($r, 'data'), '[]', 'data []';
            $r = $s->req(DELETE => "/shm/v1$p", %A, json => { server_id => $s2 });
            is $r->{status}, 200, 'a server used only by removed services: 200';
            $r = $s->req(GET => "/shm/v1$p", %A, query => { filter => qq({"server_id":{"-in":[$s1,$s2]}}) });
            is jenc($r, 'items'), '0', 'both are gone';
            $expect->(DELETE => $p, 404, 'Object not found. Check the ID.', 'again', query => { server_id => $s1 });
            $expect->(DELETE => $p, 400, 'Field required: server_id', 'no key');

            $r = $s->req(DELETE => '/shm/v1/admin/server/group', %A, query => { group_id => $web });
            is $r->{status}, 200, 'its group is empty now and can go';
        };

        subtest 'dry_run' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/server', %A, json => { transport => 'local', name => 'dry', dry_run => 1 });
            is $r->{status}, 200, 'dry_run: 200';
            is jenc($r, 'data', 0, 'name'), '"dry"', 'dry_run: the would-be row';
            $r = $s->req(GET => '/shm/v1/admin/server', %A, query => { filter => '{"name":"dry"}' });
            is jenc($r, 'items'), '0', 'dry_run: nothing stored';
        };

        subtest 'non-admin' => sub {
            $s->register('plain', 'Password1');
            my $usid = $s->login('plain', 'Password1');
            for my $req ([ GET => '/shm/v1/admin/server' ], [ PUT => '/shm/v1/admin/server' ],
                         [ POST => '/shm/v1/admin/server' ], [ DELETE => '/shm/v1/admin/server' ],
                         [ GET => '/shm/v1/admin/server/group' ], [ PUT => '/shm/v1/admin/server/group' ],
                         [ DELETE => '/shm/v1/admin/server/group' ]) {
                my $r = $s->req(@$req, session => $usid, json => { transport => 'ssh', server_id => 1, group_id => 3 });
                is $r->{status}, 403, "$req->[0] $req->[1]: 403";
                is canon($r), err_body(403, 'Permission denied'), "$req->[0] $req->[1]: body";
            }
            my $r = $s->req(GET => '/shm/v1/admin/server/group', %A, query => { filter => '{"group_id":3}' });
            is jenc($r, 'items'), '1', 'group 3 is still there';
        };

        $s->stop;
    };
}

done_testing;
