# Event bindings: list/create/update/delete of /admin/service/event (api.md §11.5 R88–R91,
# spool.md §3, data-model.md §3.8), validation and error paths, and binding the CREATE,
# BLOCK and REMOVE events of the category mask "web_tariff%" to templates created through
# the template API.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);

my $SEEDED = '{"id":1,"kind":"UserService","name":"user_password_reset","server_gid":1,'
  . '"settings":{"category":"%","template_id":"user_password_reset"},"title":"User password reset"}';

sub ids {
    my ($r) = @_;
    return [ map { $_->{id} } @{ ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' ? $r->{json}{data} : [] } ];
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s  = BilldTest->start(engine => $engine);
        my %A  = (session => $s->admin_session);
        my $EV = '/shm/v1/admin/service/event';
        my %id;

        subtest 'seeded binding' => sub {
            my $r = $s->req(GET => $EV, %A);
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), "[$SEEDED]", 'the production seed event';
            is jenc($r, 'items'), '1', 'items 1';
        };

        subtest 'create' => sub {
            my $r = $s->req(PUT => $EV, %A, json => { name => 'create', title => 'Create web',
                settings => { category => 'web%', template_id => 'web_tariff_create', extra => [1, { a => 2 }] } });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), '[{"id":2,"kind":"UserService","name":"create","server_gid":0,'
              . '"settings":{"category":"web%","extra":[1,{"a":2}],"template_id":"web_tariff_create"},'
              . '"title":"Create web"}]', 'defaults: kind UserService, server_gid 0; other settings verbatim';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'PUT envelope';
            $id{web} = $r->{json}{data}[0]{id};

            $r = $s->req(PUT => $EV, %A, json => { name => 'block', title => 'Block', kind => 'Jobs',
                server_gid => 4, settings => { transport => 'ssh', cmd => 'block {{ us.id }}', stdin => '' } });
            is $r->{status}, 200, 'with kind, group and transport: 200';
            is jenc($r, 'data', 0, 'kind'), '"Jobs"', 'kind kept';
            is jenc($r, 'data', 0, 'server_gid'), '4', 'server_gid 4';
            is jenc($r, 'data', 0, 'settings'), '{"cmd":"block {{ us.id }}","stdin":"","transport":"ssh"}',
              'settings';
            $id{block} = $r->{json}{data}[0]{id};

            $r = $s->req(PUT => $EV, %A, json => { name => 'remove', title => 'Remove', server_gid => '0',
                kind => '', settings => '{"category":"mysql"}' });
            is $r->{status}, 200, 'server_gid "0", empty kind, settings as JSON text: 200';
            is jenc($r, 'data', 0, 'server_gid'), '0', 'server_gid 0';
            is jenc($r, 'data', 0, 'kind'), '"UserService"', 'empty kind becomes UserService';
            is jenc($r, 'data', 0, 'settings'), '{"category":"mysql"}', 'settings text decoded';
            $id{remove} = $r->{json}{data}[0]{id};

            $r = $s->req(PUT => $EV, %A, json => { name => 'x', title => 'No group', server_gid => undef });
            is $r->{status}, 200, 'server_gid null: 200';
            is jenc($r, 'data', 0, 'server_gid'), 'null', 'server_gid null kept';
            is jenc($r, 'data', 0, 'settings'), 'null', 'no settings: null';
            $id{x} = $r->{json}{data}[0]{id};

            $r = $s->req(PUT => $EV, %A, form => { name => 'formed', title => 'Form', server_gid => 2 });
            is $r->{status}, 200, 'form-encoded create: 200';
            is jenc($r, 'data', 0, 'server_gid'), '2', 'form: server_gid 2';
            $id{form} = $r->{json}{data}[0]{id};
        };

        subtest 'create: validation' => sub {
            my @cases = (
                [ { title => 't' }, 'Field required: name' ],
                [ { name => '', title => 't' }, 'Field required: name' ],
                [ { name => 'n' }, 'Field required: title' ],
                [ { name => 'n', title => 't', nope => 1 }, 'Unknown field: nope' ],
                [ { name => 'n' x 33, title => 't' }, 'Field name: longer than 32 characters' ],
                [ { name => 'n', title => 't' x 129 }, 'Field title: longer than 128 characters' ],
                [ { name => 'n', title => 't', kind => 'k' x 33 }, 'Field kind: longer than 32 characters' ],
                [ { name => 'n', title => 't', server_gid => 99 }, 'Field server_gid: server group 99 does not exist' ],
                [ { name => 'n', title => 't', server_gid => 'abc' }, 'Field server_gid: expected an integer' ],
                [ { name => 'n', title => 't', server_gid => -1 }, 'Field server_gid: must not be negative' ],
                [ { name => 'n', title => 't', settings => [1] }, 'Field settings: must be a JSON object' ],
                [ { name => 'n', title => 't', settings => 'web%' }, 'Field settings: must be a JSON object' ],
                [ { name => 'n', title => 't', settings => { category => 5 } },
                  'Field settings: category must be a string' ],
                [ { name => 'n', title => 't', settings => { template_id => '' } },
                  'Field settings: template_id must be a non-empty string' ],
                [ { name => 'n', title => 't', settings => { cmd => [] } }, 'Field settings: cmd must be a string' ],
                [ { name => 'n', title => 't', settings => { stdin => {} } },
                  'Field settings: stdin must be a string' ],
                [ { name => 'n', title => 't', settings => { transport => 'docker' } },
                  'Field settings: transport must be one of ssh|http|mail|local|telegram' ],
                [ { name => 'n', title => 't', id => 'abc' }, 'Field id: expected an integer' ],
                [ { name => [1], title => 't' }, 'Field name: expected a string' ],
            );
            for my $c (@cases) {
                my $r = $s->req(PUT => $EV, %A, json => $c->[0]);
                is $r->{status}, 400, "$c->[1]: 400";
                is canon($r), canon(JSON::PP->new->utf8->canonical->encode({ error => $c->[1], status => 400 })),
                  "$c->[1]: body";
            }
            my $r = $s->req(PUT => $EV, %A, json => { id => 1, name => 'dup', title => 't' });
            is $r->{status}, 400, 'an existing id: 400';
            is canon($r), '{"error":"Can\'t add a new object. Perhaps it already exists?","status":400}',
              'an existing id: body';
            $r = $s->req(GET => $EV, %A, query => { limit => 0 });
            is jenc($r, 'items'), '6', 'nothing was created by the failed requests';
        };

        subtest 'update' => sub {
            my $r = $s->req(POST => $EV, %A, json => { id => $id{block}, title => 'Block it',
                server_gid => 1, settings => { transport => 'local' } });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), qq([{"id":$id{block},"kind":"Jobs","name":"block","server_gid":1,)
              . '"settings":{"transport":"local"},"title":"Block it"}]', 'settings replaced as a whole';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'POST envelope';

            $r = $s->req(POST => $EV, %A, json => { id => "$id{block}", kind => undef });
            is jenc($r, 'data', 0, 'kind'), '"UserService"', 'kind null: back to UserService';

            $r = $s->req(POST => $EV, %A, json => { id => $id{block} });
            is $r->{status}, 200, 'nothing to change: 200';
            is jenc($r, 'data', 0, 'title'), '"Block it"', 'nothing to change: the row';

            $r = $s->req(POST => $EV, %A, json => { id => $id{block}, settings => undef, server_gid => 0 });
            is jenc($r, 'data', 0, 'settings'), 'null', 'settings cleared';
            is jenc($r, 'data', 0, 'server_gid'), '0', 'group cleared';

            my @errors = (
                [ { title => 'x' }, 400, '`id` not present' ],
                [ { id => '', title => 'x' }, 400, '`id` not present' ],
                [ { id => 'abc', title => 'x' }, 400, 'Field id: expected an integer' ],
                [ { id => 999999, title => 'x' }, 404, 'Object not found. Check the ID.' ],
                [ { id => 999999 }, 404, 'Object not found. Check the ID.' ],
                [ { id => $id{block}, name => '' }, 400, 'Field required: name' ],
                [ { id => $id{block}, title => undef }, 400, 'Field required: title' ],
                [ { id => $id{block}, bogus => 1 }, 400, 'Unknown field: bogus' ],
                [ { id => $id{block}, server_gid => 42 }, 400, 'Field server_gid: server group 42 does not exist' ],
                [ { id => $id{block}, settings => { transport => 'ftp' } }, 400,
                  'Field settings: transport must be one of ssh|http|mail|local|telegram' ],
            );
            for my $c (@errors) {
                $r = $s->req(POST => $EV, %A, json => $c->[0]);
                is $r->{status}, $c->[1], "$c->[2]: $c->[1]";
                is $r->{json}{error}, $c->[2], "$c->[2]: message";
                is jenc($r, 'status'), $c->[1], "$c->[2]: JSON status";
            }
            $r = $s->req(GET => $EV, %A, query => { id => $id{block} });
            is jenc($r, 'data', 0, 'title'), '"Block it"', 'the failed updates changed nothing';
        };

        subtest 'list arguments and filters' => sub {
            my $r = $s->req(GET => $EV, %A);
            is_deeply ids($r), [ reverse(1, @id{qw(web block remove x form)}) ], 'all rows, id descending';
            is jenc($r, 'items'), '6', 'items 6';

            $r = $s->req(GET => $EV, %A, query => { id => $id{web} });
            is_deeply ids($r), [ $id{web} ], 'id argument';
            is jenc($r, 'items'), '1', 'id argument: items 1';
            $r = $s->req(GET => $EV, %A, query => { kind => 'UserService', sort_field => 'id',
                sort_direction => 'asc' });
            is_deeply ids($r), [ 1, @id{qw(web block remove x form)} ], 'kind argument, ascending';
            $r = $s->req(GET => $EV, %A, query => { kind => 'Jobs' });
            is_deeply ids($r), [], 'kind Jobs: none left';
            $r = $s->req(GET => $EV, %A, query => { id => 'abc' });
            is $r->{status}, 400, 'id=abc: 400';
            is $r->{json}{error}, 'Field id: expected an integer', 'id=abc: message';

            $r = $s->req(GET => $EV, %A, query => { filter => '{"name":"remove"}' });
            is_deeply ids($r), [ $id{remove} ], 'filter by name';
            is jenc($r, 'filter'), '{"name":"remove"}', 'filter echoed';
            $r = $s->req(GET => $EV, %A, query => { filter => '{"settings":{"category":"mysql"}}' });
            is_deeply ids($r), [ $id{remove} ], 'filter by settings.category';
            $r = $s->req(GET => $EV, %A, query => { filter => '{"title":"%e%"}', limit => 2 });
            is jenc($r, 'items'), '3', 'LIKE filter: items is the total';
            is scalar @{ ids($r) }, 2, 'LIKE filter: limit 2';
            $r = $s->req(GET => $EV, %A, query => { filter => '{"nope":1}' });
            is $r->{status}, 400, 'unknown filter column: 400';
        };

        subtest 'delete' => sub {
            my $r = $s->req(DELETE => $EV, %A);
            is $r->{status}, 400, 'no id: 400';
            is canon($r), '{"error":"Field required: id","status":400}', 'no id: body';
            $r = $s->req(DELETE => $EV, %A, query => { id => 999999 });
            is $r->{status}, 404, 'unknown id: 404';
            is canon($r), '{"error":"Object not found. Check the ID.","status":404}', 'unknown id: body';
            $r = $s->req(DELETE => $EV, %A, query => { id => 'x' });
            is $r->{status}, 400, 'id=x: 400';
            for my $k (qw(x form)) {
                $r = $s->req(DELETE => $EV, %A, query => { id => $id{$k} });
                is $r->{status}, 200, "delete $k: 200";
                is jenc($r, 'data'), '[]', "delete $k: data []";
            }
            $r = $s->req(DELETE => $EV, %A, query => { id => $id{x} });
            is $r->{status}, 404, 'deleted twice: 404';
            $r = $s->req(GET => $EV, %A);
            is_deeply ids($r), [ reverse(1, @id{qw(web block remove)}) ], 'the two rows are gone';
        };

        subtest 'bind CREATE/BLOCK/REMOVE of web_tariff% to templates' => sub {
            my %tpl = (
                CREATE => "#!/bin/sh\ncreate {{ us.id }}",
                BLOCK  => "#!/bin/sh\nblock {{ us.id }}",
                REMOVE => "#!/bin/sh\nremove {{ us.id }}",
            );
            my %ev;
            for my $event (qw(CREATE BLOCK REMOVE)) {
                my $tid = 'web_tariff_' . lc $event;
                my $r = $s->req(PUT => "/shm/v1/admin/template/$tid", %A, body => $tpl{$event},
                    type => 'text/plain');
                is $r->{status}, 200, "template $tid created";
                $r = $s->req(PUT => $EV, %A, json => { name => $event, title => "Web tariff $event",
                    server_gid => 4, settings => { category => 'web_tariff%', template_id => $tid } });
                is $r->{status}, 200, "event $event bound";
                $ev{$event} = $r->{json}{data}[0]{id};
            }
            for my $event (qw(CREATE BLOCK REMOVE)) {
                my $r = $s->req(GET => $EV, %A, query => { filter => qq({"name":"$event"}) });
                is $r->{status}, 200, "list $event: 200";
                is jenc($r, 'data'), qq([{"id":$ev{$event},"kind":"UserService","name":"$event",)
                  . '"server_gid":4,"settings":{"category":"web_tariff%","template_id":"web_tariff_'
                  . lc($event) . qq("},"title":"Web tariff $event"}]), "list $event: exactly the binding";
                my $t = $s->req(GET => "/shm/v1/admin/template/web_tariff_" . lc $event, %A);
                is $t->{body}, $tpl{$event}, "the bound template of $event exists";
            }
            my $r = $s->req(GET => $EV, %A, query => { filter => '{"settings":{"category":"web_tariff%"}}',
                sort_field => 'id', sort_direction => 'asc' });
            is_deeply ids($r), [ @ev{qw(CREATE BLOCK REMOVE)} ], 'the three bindings of the category';
        };

        subtest 'non-admin' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/user', %A, json => { login => 'plain', password => 'Password1' });
            is $r->{status}, 200, 'user created';
            my $usid = $s->login('plain', 'Password1');
            for my $m (qw(GET PUT POST DELETE)) {
                $r = $s->req($m => $EV, session => $usid, query => { id => 1 });
                is $r->{status}, 403, "$m: 403";
                is canon($r), '{"error":"Permission denied","status":403}', "$m: body";
            }
            $r = $s->req(GET => $EV, %A, query => { id => 1 });
            is jenc($r, 'data'), "[$SEEDED]", 'the seeded row is unchanged';
        };

        $s->stop;
    };
}

done_testing;
