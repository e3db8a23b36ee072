# Issue 3 "done when", in one pass on each engine: an admin builds the Tariff tree, a server
# group with two SSH servers and a key, binds CREATE/BLOCK/REMOVE events to templates, stores
# and reads config; users upload and download binary storage entries but never another's.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines);

sub ok_data {
    my ($r, $what) = @_;
    is $r->{status}, 200, "$what: 200" or diag $r->{body};
    return $r->{json} ? $r->{json}{data} : undef;
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine);
        my %A = (session => $s->admin_session);

        # the Tariff tree: a 100/month parent with site, mail and DB hosting children
        my $parent = ok_data($s->req(PUT => '/shm/v1/admin/service', %A,
            json => { name => 'Tariff', cost => 100, period => 1, category => 'web_tariff',
                      allow_to_order => 1 }), 'parent')->[0];
        my @kids = map {
            ok_data($s->req(PUT => '/shm/v1/admin/service', %A,
                json => { name => $_->[0], cost => 0, category => $_->[1] }), $_->[0])->[0]
        } ([ 'Site hosting', 'web' ], [ 'Mail', 'mail' ], [ 'DB hosting', 'mysql' ]);
        ok_data($s->req(POST => '/shm/v1/admin/service/children', %A,
            json => { service_id => $parent->{service_id},
                      children => [ map { { service_id => $_->{service_id}, qnt => 1 } } @kids ] }),
            'set children');
        my $children = ok_data($s->req(GET => '/shm/v1/admin/service/children', %A,
            query => { service_id => $parent->{service_id} }), 'read children');
        is_deeply [ map { $_->{service_id} } @$children ], [ map { $_->{service_id} } @kids ],
            'the three children, in order';
        is $parent->{cost}, 100, 'parent costs 100';
        is $parent->{period}, 1, 'per month';

        # a server group with two SSH servers and a key
        my $key = ok_data($s->req(GET => '/shm/v1/admin/server/identity/generate', %A), 'keygen')->[0];
        my $ident = ok_data($s->req(PUT => '/shm/v1/admin/server/identity', %A,
            json => { name => 'deploy', private_key => $key->{private_key} }), 'store the key')->[0];
        ok !exists $ident->{private_key}, 'the private key is never returned';
        my $group = ok_data($s->req(PUT => '/shm/v1/admin/server/group', %A,
            json => { name => 'Web servers', transport => 'ssh', type => 'evenly' }), 'group')->[0];
        for my $n (1, 2) {
            ok_data($s->req(PUT => '/shm/v1/admin/server', %A,
                json => { name => "web$n", transport => 'ssh', host => "root\@10.0.0.$n",
                          server_gid => $group->{group_id},
                          settings => { key_id => $ident->{id}, port => 22 } }), "server $n");
        }
        my $servers = ok_data($s->req(GET => '/shm/v1/admin/server', %A,
            query => { filter => qq({"server_gid":$group->{group_id}}) }), 'list servers');
        is scalar(@$servers), 2, 'two servers in the group';
        is $_->{settings}{key_id}, $ident->{id}, "$_->{name} uses the key" for @$servers;

        # events bound to templates
        for my $ev (qw(create block remove)) {
            ok_data($s->req(PUT => "/shm/v1/admin/template/web_$ev", %A,
                body => "echo $ev {{ us.id }}", type => 'text/plain'), "template web_$ev");
            ok_data($s->req(PUT => '/shm/v1/admin/service/event', %A,
                json => { name => $ev, title => "Web $ev", server_gid => $group->{group_id},
                          settings => { category => 'web_tariff', template_id => "web_$ev" } }),
                "event $ev");
        }
        my $events = ok_data($s->req(GET => '/shm/v1/admin/service/event', %A,
            query => { filter => qq({"server_gid":$group->{group_id}}) }), 'list events');
        is_deeply [ sort map { $_->{name} } @$events ], [qw(block create remove)],
            'CREATE, BLOCK and REMOVE are bound';

        # config: store and read
        ok_data($s->req(PUT => '/shm/v1/admin/config', %A,
            json => { key => 'vpn', value => { region => 'eu', ports => [ 51820 ] } }), 'config put');
        ok_data($s->req(POST => '/shm/v1/admin/config/vpn', %A,
            body => '{"region":"us","dns":"1.1.1.1"}', type => 'application/json'), 'deep merge');
        my $vpn = ok_data($s->req(GET => '/shm/v1/admin/config/vpn', %A), 'config get')->[0];
        is_deeply $vpn, { region => 'us', ports => [ 51820 ], dns => '1.1.1.1' }, 'merged value';

        # storage: binary, per user
        $s->register($_, 'Password1') for qw(alice bob);
        my %sid = map { $_ => $s->login($_, 'Password1') } qw(alice bob);
        my %bytes = (alice => join('', map { chr } 0 .. 255), bob => "\0\xff bob's key\n");
        for my $u (qw(alice bob)) {
            my $r = $s->req(PUT => '/shm/v1/storage/manage/my_vpn_key', session => $sid{$u},
                body => $bytes{$u}, type => 'application/octet-stream');
            is $r->{status}, 200, "$u uploads";
        }
        for my $u (qw(alice bob)) {
            my $r = $s->req(GET => '/shm/v1/storage/download/my_vpn_key', session => $sid{$u});
            is $r->{status}, 200, "$u downloads";
            ok $r->{body} eq $bytes{$u}, "$u gets exactly her/his own bytes";
        }
        my $list = ok_data($s->req(GET => '/shm/v1/storage/manage', session => $sid{alice}), 'list');
        is scalar(@$list), 1, 'alice sees one entry';
        my $bob_id = ok_data($s->req(GET => '/shm/v1/user', session => $sid{bob}), 'bob')->[0]{user_id};
        my $r = $s->req(GET => '/shm/v1/storage/manage/my_vpn_key', session => $sid{alice},
            query => { user_id => $bob_id });
        ok $r->{body} eq $bytes{alice}, "user_id does not let alice read bob's entry";

        $s->stop;
    };
}

done_testing;
