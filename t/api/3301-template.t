# Template store: list/create/update/delete of /admin/template and /admin/template/<id>
# (api.md §7.3, §11.10 R148–R155, templates.md §3, data-model.md §3.14 and §6.1; golden 47):
# the golden PUT answer, raw-body round trips of a large UTF-8 template, replacing text and
# settings, validation, deletes and the 4xx answers, and the seeded production templates.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode qw(encode_utf8 decode_utf8);
use BilldTest qw(engines canon jenc);

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

# The production seed (fixtures/shm/shm_data.sql), byte for byte.
my $FORECAST = <<'END_TEXT';
Уважаемый {{ user.full_name }}

Уведомляем Вас о сроках действия услуг:

{{ FOR item IN user.pays.forecast.items }}
- Услуга: {{ item.name }}
  Стоимость: {{ item.total }} руб.
  {{ IF item.expire }}
  Истекает: {{ item.expire }}
  {{ END }}
{{ END }}

{{ IF user.pays.forecast.dept }}
Погашение задолженности: {{ user.pays.forecast.dept }} руб.
{{ END }}

Итого к оплате: {{ user.pays.forecast.total }} руб.

Услуги, которые не будут оплачены до срока их истечения, будут приостановлены.

Подробную информацию по Вашим услугам Вы можете посмотреть в вашем личном кабинете: {{ config.api.url }}

Это письмо сформировано автоматически. Если оно попало к Вам по ошибке,
пожалуйста, сообщите об этом нам: {{ config.mail.from }}
END_TEXT
chomp $FORECAST;

my $RESET = <<'END_TEXT';
Уважаемый клиент.

Ваш новый пароль: {{ user.set_new_passwd }}

Адрес кабинета: {{ config.cli.url }}
END_TEXT
chomp $RESET;

my $GOLDEN_DATA = 'Hello {{ user.login }} ({{ user.id }}), balance={{ user.balance }} x={{ request.params.x }}';
my $CT_PLAIN = 'text/plain; charset=utf-8';

sub ids {
    my ($r) = @_;
    return [ map { $_->{id} } @{ ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' ? $r->{json}{data} : [] } ];
}

sub err_body {
    my ($msg, $status) = @_;
    return JSON::PP->new->canonical->encode({ error => $msg, status => $status // 400 });
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine);
        my %A = (session => $s->admin_session);
        my $T = '/shm/v1/admin/template';

        subtest 'seeded production templates' => sub {
            my $r = $s->req(GET => $T, %A);
            is $r->{status}, 200, 'status 200';
            is_deeply ids($r), [qw(user_password_reset forecast)], 'two templates, id descending';
            is jenc($r, 'items'), '2', 'items 2';
            my %t = map { $_->{id} => $_ } @{ $r->{json}{data} };
            is $t{forecast}{data}, $FORECAST, 'forecast: the exact text';
            is jenc($r, 'data', 1, 'settings'), 'null', 'forecast: no settings';
            is $t{user_password_reset}{data}, $RESET, 'user_password_reset: the exact text';
            is_deeply $t{user_password_reset}{settings}, { subject => 'SHM - Восстановление пароля' },
              'user_password_reset: subject';

            $r = $s->req(GET => "$T/forecast", %A);
            is $r->{status}, 200, 'raw forecast: 200';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'raw forecast: text/plain';
            is decode_utf8($r->{body}), $FORECAST, 'raw forecast: the source, not rendered';
        };

        subtest 'golden 47: PUT /admin/template' => sub {
            my $r = $s->req(PUT => $T, %A, json => { id => 'golden_tpl', data => $GOLDEN_DATA });
            is $r->{status}, 200, 'status 200';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'text/plain; charset=utf-8';
            is $r->{body}, '{"data":"' . $GOLDEN_DATA . '","id":"golden_tpl","settings":null}',
              'the object, JSON-encoded, no envelope';

            $r = $s->req(PUT => $T, %A, json => { id => 'golden_tpl', data => 'again' });
            is $r->{status}, 400, 'the same id again: 400';
            is canon($r), err_body("Can't add a new object. Perhaps it already exists?"), 'duplicate: body';

            $r = $s->req(GET => "$T/golden_tpl", %A, query => { x => 42 });
            is $r->{status}, 200, 'raw GET: 200';
            is $r->{body}, $GOLDEN_DATA, 'raw GET: the text, not rendered';

            $r = $s->req(GET => "$T/golden_tpl", %A, query => { format => 'json' });
            is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'format=json honoured';

            $r = $s->req(GET => $T, %A, query => { filter => '{"id":"golden_tpl"}' });
            is jenc($r, 'data'), '[{"data":"' . $GOLDEN_DATA . '","id":"golden_tpl","settings":null}]',
              'listed with the envelope';
            is jenc($r, 'items'), '1', 'filter by id: items 1';
        };

        my $big = join '', map { "Строка $_: Привет, {{ user.login }}! ✓ «ёжик» \x{1F600}\n" } 1 .. 16000;
        my $big_bytes = encode_utf8($big);
        cmp_ok length($big_bytes), '>', 1 << 20, 'the large template is over 1 MiB';

        subtest 'raw body round trip (1 MiB+, UTF-8, "/" in the id)' => sub {
            my $r = $s->req(PUT => "$T/mail/big_one", %A, body => $big_bytes, type => 'text/plain');
            is $r->{status}, 200, 'PUT /admin/template/mail/big_one: 200';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'text/plain';
            is $r->{json}{id}, 'mail/big_one', 'id from the path';
            ok $r->{json}{data} eq $big, 'data is the body';
            is jenc($r, 'settings'), 'null', 'settings null';

            $r = $s->req(GET => "$T/mail/big_one", %A);
            is $r->{status}, 200, 'GET: 200';
            ok $r->{body} eq $big_bytes, 'GET returns the exact bytes';
            is length($r->{body}), length($big_bytes), 'same length';

            $r = $s->req(PUT => "$T/mail/big_one", %A, body => 'x', type => 'text/plain');
            is $r->{status}, 400, 'PUT again: 400';

            $r = $s->req(PUT => "$T/json_text", %A, body => '{"a": [1, 2]}', type => 'application/json');
            is $r->{status}, 200, 'a JSON body on the raw route: 200';
            is $r->{json}{data}, '{"a": [1, 2]}', 'the JSON body is kept as text';

            $r = $s->req(PUT => "$T/with_settings", %A, body => 'Subject {{ x }}', type => 'text/plain',
                query => { settings => '{"subject":"Привет","allow_public":1,"no_parse":0}' });
            is $r->{status}, 200, 'settings in the query: 200';
            is jenc($r, 'settings'), '{"allow_public":1,"no_parse":0,"subject":"Привет"}',
              'settings decoded from the query';

            $r = $s->req(PUT => "$T/empty_one", %A);
            is $r->{status}, 200, 'no body: 200';
            is jenc($r, 'data'), 'null', 'no body: data null';
            $r = $s->req(GET => "$T/empty_one", %A);
            is $r->{status}, 200, 'GET of a template without text: 200';
            is $r->{body}, '', 'empty body';

            $r = $s->req(PUT => $T, %A, query => { id => 'plain_body' }, body => encode_utf8("plain\ntext ✓"),
                type => 'text/plain');
            is $r->{status}, 200, 'PUT /admin/template with a text/plain body: 200';
            is $r->{json}{data}, "plain\ntext ✓", 'data from the raw body';
            $r = $s->req(PUT => $T, %A, form => { id => 'form_tpl', data => 'from a form',
                settings => '{"deny_for_http_user":1}' });
            is $r->{status}, 200, 'form-encoded: 200';
            is jenc($r, 'settings'), '{"deny_for_http_user":1}', 'form settings decoded';
            is $r->{json}{data}, 'from a form', 'form data';
        };

        subtest 'replace text and settings' => sub {
            my $r = $s->req(POST => "$T/mail/big_one", %A, body => encode_utf8('short ✓'), type => 'text/plain');
            is $r->{status}, 200, 'POST raw: 200';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'text/plain';
            is $r->{body}, encode_utf8('{"data":"short ✓","id":"mail/big_one","settings":null}'),
              'the object';
            $r = $s->req(GET => "$T/mail/big_one", %A);
            is decode_utf8($r->{body}), 'short ✓', 'the text was replaced';

            $r = $s->req(POST => "$T/mail/big_one", %A, query => { settings => '{"subject":"S"}' });
            is $r->{status}, 200, 'POST with settings only: 200';
            is jenc($r, 'settings'), '{"subject":"S"}', 'settings set';
            is $r->{json}{data}, 'short ✓', 'an empty body keeps the text';

            $r = $s->req(POST => "$T/mail/big_one", %A, body => $big_bytes, type => 'text/plain');
            is $r->{status}, 200, 'POST 1 MiB+: 200';
            ok $r->{json}{data} eq $big, 'POST 1 MiB+: the text';
            is jenc($r, 'settings'), '{"subject":"S"}', 'the settings are kept';

            $r = $s->req(POST => $T, %A, json => { id => 'golden_tpl', settings => { allow_public => 1,
                telegram => { raw => 1 } } });
            is $r->{status}, 200, 'POST /admin/template settings: 200';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'POST /admin/template: text/plain';
            is $r->{body}, '{"data":"' . $GOLDEN_DATA . '","id":"golden_tpl",'
              . '"settings":{"allow_public":1,"telegram":{"raw":1}}}', 'settings replaced, text kept';

            $r = $s->req(POST => $T, %A, json => { id => 'golden_tpl', data => 'New {{ x }}', settings => undef });
            is $r->{body}, '{"data":"New {{ x }}","id":"golden_tpl","settings":null}', 'data set, settings cleared';

            $r = $s->req(POST => $T, %A, query => { id => 'golden_tpl' }, body => 'Raw post', type => 'text/plain');
            is $r->{json}{data}, 'Raw post', 'POST /admin/template with a raw body';

            $r = $s->req(POST => $T, %A, json => { id => 'golden_tpl' });
            is $r->{status}, 200, 'nothing to change: 200';
            is $r->{json}{data}, 'Raw post', 'nothing to change: the object';
        };

        subtest 'validation' => sub {
            my @put = (
                [ { data => 'x' }, 'Field required: id' ],
                [ { id => '', data => 'x' }, 'Field required: id' ],
                [ { id => 'x' x 33 }, 'Field id: longer than 32 characters' ],
                [ { id => "a\nb" }, 'Field id: must not contain control characters' ],
                [ { id => "tab\there" }, 'Field id: must not contain control characters' ],
                [ { id => '/abs' }, 'Field id: must not have empty path segments' ],
                [ { id => 'dir/' }, 'Field id: must not have empty path segments' ],
                [ { id => 'a//b' }, 'Field id: must not have empty path segments' ],
                [ { id => 'v1', settings => 'x' }, 'Field settings: must be a JSON object' ],
                [ { id => 'v1', settings => [1] }, 'Field settings: must be a JSON object' ],
                [ { id => 'v1', settings => 5 }, 'Field settings: must be a JSON object' ],
                [ { id => 'v1', settings => '[1]' }, 'Field settings: must be a JSON object' ],
                [ { id => 'v1', nope => 1 }, 'Unknown field: nope' ],
                [ { id => 'v1', data => [1] }, 'Field data: expected a string' ],
            );
            for my $c (@put) {
                my $r = $s->req(PUT => $T, %A, json => $c->[0]);
                is $r->{status}, 400, "PUT $c->[1]: 400";
                is canon($r), err_body($c->[1]), "PUT $c->[1]: body";
            }
            is $s->req(PUT => $T, %A, json => { id => 'x' x 32, data => 'ok' })->{status}, 200,
              'an id of 32 characters: 200';
            is $s->req(PUT => $T, %A, json => { id => 'ж' x 32 })->{status}, 200,
              'an id of 32 Cyrillic characters: 200';

            my $r = $s->req(PUT => "$T/bad_utf8", %A, body => "abc\xff\xfe", type => 'text/plain');
            is $r->{status}, 400, 'invalid UTF-8 body: 400';
            is canon($r), err_body('Field data: must be valid UTF-8'), 'invalid UTF-8: body';
            $r = $s->req(POST => "$T/golden_tpl", %A, body => "\xc3", type => 'text/plain');
            is $r->{status}, 400, 'POST invalid UTF-8: 400';
            $r = $s->req(PUT => "$T/nul_body", %A, body => "a\0b", type => 'text/plain');
            is $r->{status}, 400, 'NUL in the body: 400';
            is canon($r), err_body('Field data: must not contain NUL characters'), 'NUL: body';
            $r = $s->req(PUT => "$T/bad_settings", %A, body => 'x', type => 'text/plain',
                query => { settings => '{"a":' });
            is canon($r), err_body('Field settings: must be a JSON object'), 'bad settings JSON in the query';
            $r = $s->req(PUT => "$T/unknown_arg", %A, body => 'x', type => 'text/plain', query => { foo => 1 });
            is canon($r), err_body('Unknown field: foo'), 'unknown query argument';

            $r = $s->req(POST => $T, %A, json => { data => 'x' });
            is canon($r), err_body('`id` not present'), 'POST without id';
            $r = $s->req(POST => $T, %A, json => { id => 'no_such_tpl', data => 'x' });
            is $r->{status}, 404, 'POST unknown id: 404';
            is canon($r), err_body('Object not found. Check the ID.', 404), 'POST unknown id: body';
            $r = $s->req(POST => "$T/no_such_tpl", %A, body => 'x', type => 'text/plain');
            is $r->{status}, 404, 'POST /admin/template/<unknown>: 404';
            $r = $s->req(POST => $T, %A, json => { id => 'golden_tpl', settings => 'no' });
            is canon($r), err_body('Field settings: must be a JSON object'), 'POST bad settings';

            for my $id (qw(bad_utf8 nul_body bad_settings unknown_arg v1)) {
                $r = $s->req(GET => "$T/$id", %A);
                is $r->{status}, 400, "$id was not created";
            }
            $r = $s->req(GET => "$T/golden_tpl", %A);
            is $r->{body}, 'Raw post', 'the failed updates changed nothing';
        };

        subtest 'delete and missing templates' => sub {
            my $r = $s->req(GET => "$T/no_such_tpl", %A);
            is $r->{status}, 400, 'GET unknown: 400';
            is canon($r), err_body('Template not found'), 'GET unknown: body';
            is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'errors stay JSON';

            $r = $s->req(DELETE => $T, %A);
            is canon($r), err_body('Field required: id'), 'DELETE without id';
            $r = $s->req(DELETE => $T, %A, query => { id => 'no_such_tpl' });
            is $r->{status}, 404, 'DELETE unknown: 404';
            is canon($r), err_body('Object not found. Check the ID.', 404), 'DELETE unknown: body';

            $r = $s->req(DELETE => $T, %A, query => { id => 'golden_tpl' });
            is $r->{status}, 200, 'DELETE ?id=: 200';
            is jenc($r, 'data'), '[]', 'DELETE: data []';
            is $s->req(GET => "$T/golden_tpl", %A)->{status}, 400, 'golden_tpl is gone';

            $r = $s->req(DELETE => "$T/mail/big_one", %A);
            is $r->{status}, 200, 'DELETE /admin/template/mail/big_one: 200';
            is jenc($r, 'data'), '[]', 'data []';
            $r = $s->req(DELETE => "$T/mail/big_one", %A);
            is $r->{status}, 404, 'deleted twice: 404';
            is canon($r), err_body('Object not found. Check the ID.', 404), 'deleted twice: body';

            $r = $s->req(GET => $T, %A, query => { filter => '{"id":"%big%"}' });
            is_deeply ids($r), [], 'not listed any more';
            $r = $s->req(GET => $T, %A, query => { filter => '{"id":"forecast"}' });
            is_deeply ids($r), ['forecast'], 'the seeded templates are still there';
        };

        subtest 'non-admin' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/user', %A, json => { login => 'plain', password => 'Password1' });
            is $r->{status}, 200, 'user created';
            my $usid = $s->login('plain', 'Password1');
            for my $req ([ GET => $T ], [ PUT => $T ], [ POST => $T ], [ DELETE => $T ],
                [ GET => "$T/forecast" ], [ PUT => "$T/x" ], [ POST => "$T/forecast" ], [ DELETE => "$T/forecast" ]) {
                $r = $s->req(@$req, session => $usid, query => { id => 'forecast' });
                is $r->{status}, 403, "$req->[0] $req->[1]: 403";
                is canon($r), err_body('Permission denied', 403), "$req->[0] $req->[1]: body";
            }
            $r = $s->req(GET => "$T/forecast", %A);
            is decode_utf8($r->{body}), $FORECAST, 'forecast untouched';
        };

        $s->stop;
    };
}

done_testing;
