# Configuration administration (api.md §11.10 R163–R169, other.md §2.2–§2.5,
# data-model.md §3.16 and §6.1): the seeded keys, list arguments and filters, create,
# replace, delete (system keys protected), reading one value, deep merge of a raw JSON
# body, removing one sub-key, and GET /shm/v1/company following a change.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode qw(encode_utf8);
use BilldTest qw(engines canon jenc);

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

my %SEED = (
    _shm        => '{"cloud":{},"version":"0.0.3"}',
    billing     => '{"currency":"RUB","partner":{"income_percent":0},"type":"Simpler"}',
    company     => '{"name":"My Company LTD"}',
    telegram    => '{"token":""}',
    api         => '{"url":"https://bill.domain.ru"}',
    cli         => '{"url":"https://bill.domain.ru"}',
    pay_systems => '{"manual":{"name":"Платеж","show_for_client":false},"yoomoney":{"account":'
      . '"000000000000000","name":"ЮMoney","secret":"","show_for_client":true,"template_id":"yoomoney_template"}}',
    mail        => '{"from":"mail@domain.ru"}',
);

sub keys_of {
    my ($r) = @_;
    return [ map { $_->{key} } @{ ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' ? $r->{json}{data} : [] } ];
}

sub err_body {
    my ($msg, $status) = @_;
    return JSON::PP->new->canonical->encode({ error => $msg, status => $status // 400 });
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine);
        my %A = (session => $s->admin_session);
        my $C = '/shm/v1/admin/config';

        subtest 'seeded keys' => sub {
            my $r = $s->req(GET => $C, %A);
            is $r->{status}, 200, 'status 200';
            is_deeply keys_of($r), [ sort { $b cmp $a } keys %SEED ], 'all seeded keys, key descending';
            is jenc($r, 'items'), scalar(keys %SEED), 'items';
            my %got = map { $_->{key} => JSON::PP->new->canonical->encode($_->{value}) } @{ $r->{json}{data} };
            is $got{$_}, $SEED{$_}, "value of $_" for sort keys %SEED;
            is_deeply [ sort keys %{ $r->{json}{data}[0] } ], [qw(key value)], 'rows are {key, value}';

            for my $k (sort keys %SEED) {
                $r = $s->req(GET => "$C/$k", %A);
                is $r->{status}, 200, "GET $C/$k: 200";
                is jenc($r, 'data'), "[$SEED{$k}]", "GET $C/$k: [value]";
            }
            is jenc($r, 'items'), '1', 'one value: items 1';

            $r = $s->req(GET => '/shm/v1/company');
            is jenc($r, 'data'), '[{"name":"My Company LTD"}]', 'GET /company';
        };

        subtest 'list arguments and filters' => sub {
            my $r = $s->req(GET => $C, %A, query => { key => 'billing' });
            is_deeply keys_of($r), ['billing'], 'key argument';
            is jenc($r, 'items'), '1', 'key argument: items 1';
            $r = $s->req(GET => $C, %A, query => { filter => '{"key":"cli"}' });
            is_deeply keys_of($r), ['cli'], 'filter key';
            $r = $s->req(GET => $C, %A, query => { filter => '{"key":{"-like":"c%"}}', sort_field => 'key',
                sort_direction => 'asc' });
            is_deeply keys_of($r), [qw(cli company)], 'filter key -like';
            $r = $s->req(GET => $C, %A, query => { filter => '{"value":"%RUB%"}' });
            is_deeply keys_of($r), ['billing'], 'filter value: LIKE on the JSON text';
            $r = $s->req(GET => $C, %A, query => { filter => '{"value":"%my company%"}' });
            is_deeply keys_of($r), ['company'], 'filter value: case-insensitive';
            $r = $s->req(GET => $C, %A, query => { filter => '{"value":"%bill.domain.ru%"}',
                sort_field => 'key', sort_direction => 'asc' });
            is_deeply keys_of($r), [qw(api cli)], 'filter value: two keys';
            $r = $s->req(GET => $C, %A, query => { filter => '{"value":"token"}' });
            is_deeply keys_of($r), [], 'filter value without %: the whole text must match';
            $r = $s->req(GET => $C, %A, query => { filter => '{"value":{"url":"https://bill.domain.ru"}}',
                sort_field => 'key', sort_direction => 'asc' });
            is_deeply keys_of($r), [qw(api cli)], 'filter on a JSON path of value';
            $r = $s->req(GET => $C, %A, query => { filter => '{"value":"%RUB%","key":"billing"}' });
            is_deeply keys_of($r), ['billing'], 'filters combined';
            $r = $s->req(GET => $C, %A, query => { limit => 3 });
            is scalar @{ keys_of($r) }, 3, 'limit 3';
            is jenc($r, 'items'), scalar(keys %SEED), 'items is the total';
            $r = $s->req(GET => $C, %A, query => { filter => '{"nope":1}' });
            is $r->{status}, 400, 'unknown filter column: 400';
        };

        subtest 'create' => sub {
            my $r = $s->req(PUT => $C, %A, json => { key => 'test_key', value => { a => 1, b => { c => 2, d => 3 },
                arr => [ 1, 2 ], o => { x => 1 } } });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), '[{"key":"test_key","value":{"a":1,"arr":[1,2],"b":{"c":2,"d":3},"o":{"x":1}}}]',
              'the row';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'PUT envelope';

            for my $v ([ '[1,"two",null]', [ 1, 'two', undef ] ], [ '"text"', 'text' ], [ '42', 42 ],
                [ 'false', JSON::PP::false ], [ '{}', {} ]) {
                (my $k = "v_$v->[0]") =~ s/\W/_/g;
                $r = $s->req(PUT => $C, %A, json => { key => $k, value => $v->[1] });
                is $r->{status}, 200, "value $v->[0]: 200";
                is jenc($r, 'data', 0, 'value'), $v->[0], "value $v->[0] stored as is";
                is jenc($s->req(GET => "$C/$k", %A), 'data'), "[$v->[0]]", "GET value $v->[0]";
            }

            $r = $s->req(PUT => $C, %A, json => { key => '_private', value => { secret => 1 } });
            is $r->{status}, 200, 'admins may create keys starting with _';

            $r = $s->req(PUT => $C, %A, form => { key => 'formed', value => 'plain' });
            is jenc($r, 'data'), '[{"key":"formed","value":"plain"}]', 'form: a string value';

            my @errors = (
                [ { value => 1 }, 'Field required: key' ],
                [ { key => '', value => 1 }, 'Field required: key' ],
                [ { key => 'nv' }, 'Field required: value' ],
                [ { key => 'nv', value => undef }, 'Field required: value' ],
                [ { key => 'k' x 33, value => 1 }, 'Field key: longer than 32 characters' ],
                [ { key => "a\tb", value => 1 }, 'Field key: must not contain control characters' ],
                [ { key => 5, value => 1 }, 'Field key: expected a string' ],
                [ { key => 'nv', value => 1, extra => 2 }, 'Unknown field: extra' ],
                [ { key => 'billing', value => 1 }, "Can't add a new object. Perhaps it already exists?" ],
            );
            for my $c (@errors) {
                $r = $s->req(PUT => $C, %A, json => $c->[0]);
                is $r->{status}, 400, "$c->[1]: 400";
                is canon($r), err_body($c->[1]), "$c->[1]: body";
            }
            is jenc($s->req(GET => "$C/billing", %A), 'data'), "[$SEED{billing}]", 'billing unchanged';
            is $s->req(PUT => $C, %A, json => { key => 'k' x 32, value => 1 })->{status}, 200,
              'a key of 32 characters: 200';
        };

        subtest 'replace a value' => sub {
            my $r = $s->req(POST => $C, %A, json => { key => 'v___', value => { now => 'object' } });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), '[{"key":"v___","value":{"now":"object"}}]', 'replaced as a whole';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'POST envelope';
            $r = $s->req(POST => $C, %A, json => { key => 'v___' });
            is jenc($r, 'data'), '[{"key":"v___","value":{"now":"object"}}]', 'nothing to change: the row';

            my @errors = (
                [ { value => 1 }, 400, '`key` not present' ],
                [ { key => '', value => 1 }, 400, '`key` not present' ],
                [ { key => 'no_such_key', value => 1 }, 404, 'Object not found. Check the ID.' ],
                [ { key => 'v___', value => undef }, 400, 'Field required: value' ],
                [ { key => 'v___', other => 1 }, 400, 'Unknown field: other' ],
            );
            for my $c (@errors) {
                $r = $s->req(POST => $C, %A, json => $c->[0]);
                is $r->{status}, $c->[1], "$c->[2]: $c->[1]";
                is canon($r), err_body($c->[2], $c->[1]), "$c->[2]: body";
            }
        };

        subtest 'deep merge: POST /admin/config/<key>' => sub {
            my $r = $s->req(POST => "$C/test_key", %A, type => 'application/json',
                body => '{"b":{"c":null,"e":4},"arr":[9],"o":{},"n":{"m":null,"k":1},"a":null,"s":"x"}');
            is $r->{status}, 200, 'status 200';
            my $want = '{"arr":[9],"b":{"d":3,"e":4},"n":{"k":1},"o":{},"s":"x"}';
            is jenc($r, 'data'), "[$want]",
              'null deletes, objects merge, {} resets, arrays and scalars are replaced';
            is_deeply [ sort keys %{ $r->{json} } ], [qw(TZ data date status)], 'POST envelope';
            is jenc($s->req(GET => "$C/test_key", %A), 'data'), "[$want]", 'stored';

            $r = $s->req(POST => "$C/test_key", %A, type => 'text/plain', body => '{}');
            is jenc($r, 'data'), "[$want]", 'a {} body changes nothing';
            $r = $s->req(POST => "$C/test_key", %A, body => encode_utf8('{"b":{"deep":{"er":"ё"}}}'));
            is jenc($r, 'data', 0, 'b'), '{"d":3,"deep":{"er":"ё"},"e":4}', 'nested objects are created';

            $r = $s->req(POST => "$C/v_42", %A, body => '{"a":{"b":1}}');
            is jenc($r, 'data'), '[{"a":{"b":1}}]', 'merge into a non-object value starts from {}';

            $r = $s->req(POST => "$C/v__1__two__null_", %A, body => '{"x":1}');
            is jenc($r, 'data'), '[{"x":1}]', 'merge into an array value starts from {}';

            for my $bad ('[1,2]', '"s"', '12', 'null', '{"a":', '', '{"a":1,"a":2}') {
                $r = $s->req(POST => "$C/test_key", %A, body => $bad, type => 'application/json');
                is $r->{status}, 400, "body '$bad': 400";
                is canon($r), err_body('The body must be a JSON object'), "body '$bad': message";
            }
            $r = $s->req(POST => "$C/test_key", %A, body => "{\"a\":\"\xff\"}", type => 'text/plain');
            is $r->{status}, 400, 'invalid UTF-8: 400';
            $r = $s->req(POST => "$C/no_such_key", %A, body => '{"a":1}');
            is $r->{status}, 404, 'unknown key: 404';
            is canon($r), err_body('Object not found. Check the ID.', 404), 'unknown key: body';
            is jenc($s->req(GET => "$C/no_such_key", %A), 'data'), '[{}]', 'GET of a missing key: [{}]';

            $r = $s->req(POST => "$C/_shm", %A, body => '{"cloud":{"auth":"x"}}');
            is jenc($r, 'data'), '[{"cloud":{"auth":"x"},"version":"0.0.3"}]', 'system keys can be merged';
        };

        subtest 'remove a sub-key: DELETE /admin/config/<key>?value=' => sub {
            my $r = $s->req(DELETE => "$C/test_key", %A, query => { value => 'b' });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), '[{"arr":[9],"n":{"k":1},"o":{},"s":"x"}]', 'the new value';
            $r = $s->req(DELETE => "$C/test_key", %A, query => { value => 'nothing' });
            is jenc($r, 'data'), '[{"arr":[9],"n":{"k":1},"o":{},"s":"x"}]', 'an absent sub-key: no change';
            $r = $s->req(DELETE => "$C/pay_systems", %A, query => { value => 'yoomoney' });
            is jenc($r, 'data'), '[{"manual":{"name":"Платеж","show_for_client":false}}]', 'pay_systems';

            $r = $s->req(DELETE => "$C/test_key", %A);
            is canon($r), err_body('Field required: value'), 'no value: 400';
            $r = $s->req(DELETE => "$C/no_such_key", %A, query => { value => 'a' });
            is $r->{status}, 404, 'unknown key: 404';
            $r = $s->req(DELETE => "$C/v_false", %A, query => { value => 'a' });
            is canon($r), err_body('The value of v_false is not an object'), 'non-object value: 400';
        };

        subtest 'delete a key' => sub {
            my $r = $s->req(DELETE => $C, %A);
            is canon($r), err_body('Field required: key'), 'no key: 400';
            $r = $s->req(DELETE => $C, %A, query => { key => 'no_such_key' });
            is $r->{status}, 404, 'unknown key: 404';
            is canon($r), err_body('Object not found. Check the ID.', 404), 'unknown key: body';
            for my $k (qw(_shm _private)) {
                $r = $s->req(DELETE => $C, %A, query => { key => $k });
                is $r->{status}, 400, "$k: 400";
                is canon($r), err_body("Keys starting with _ can't be deleted"), "$k: body";
                is $s->req(GET => $C, %A, query => { key => $k })->{json}{data}[0]{key}, $k, "$k kept";
            }
            $r = $s->req(DELETE => $C, %A, query => { key => 'test_key' });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), '[]', 'data []';
            is_deeply keys_of($s->req(GET => $C, %A, query => { key => 'test_key' })), [], 'gone';
            $r = $s->req(DELETE => $C, %A, query => { key => 'test_key' });
            is $r->{status}, 404, 'deleted twice: 404';
        };

        subtest 'GET /shm/v1/company follows the company key' => sub {
            my $r = $s->req(POST => "$C/company", %A, body => encode_utf8('{"name":"ООО Ромашка","logo":"https://x/l.png"}'));
            is $r->{status}, 200, 'merge into company: 200';
            $r = $s->req(GET => '/shm/v1/company');
            is $r->{status}, 200, 'anonymous GET /company: 200';
            is jenc($r, 'data'), '[{"logo":"https://x/l.png","name":"ООО Ромашка"}]', 'the new company info';
            $r = $s->req(POST => $C, %A, json => { key => 'company', value => { name => 'Replaced' } });
            is jenc($s->req(GET => '/shm/v1/company'), 'data'), '[{"name":"Replaced"}]', 'after a replace';
            $r = $s->req(DELETE => $C, %A, query => { key => 'company' });
            is $r->{status}, 200, 'company deleted';
            $r = $s->req(GET => '/shm/v1/company');
            is $r->{status}, 200, 'without the key: 200';
            is jenc($r, 'data'), '[{}]', 'without the key: {}';
        };

        subtest 'non-admin' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/user', %A, json => { login => 'plain', password => 'Password1' });
            is $r->{status}, 200, 'user created';
            my $usid = $s->login('plain', 'Password1');
            for my $req ([ GET => $C ], [ PUT => $C ], [ POST => $C ], [ DELETE => $C ],
                [ GET => "$C/billing" ], [ POST => "$C/billing" ], [ DELETE => "$C/billing" ]) {
                $r = $s->req(@$req, session => $usid, query => { key => 'billing', value => 'type' });
                is $r->{status}, 403, "$req->[0] $req->[1]: 403";
                is canon($r), err_body('Permission denied', 403), "$req->[0] $req->[1]: body";
            }
            is jenc($s->req(GET => "$C/billing", %A), 'data'), "[$SEED{billing}]", 'billing unchanged';
        };

        $s->stop;
    };
}

done_testing;
