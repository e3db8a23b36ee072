# Rendering templates over HTTP (templates.md §6–§8, api.md R16/R17, R63/R64; golden 48–50;
# DECISIONS D11, D12): a command template that generates and stores a service password
# (us.gen_store_pass), then visible in the service's settings through the user-service API;
# request.params from the query and a JSON body; SHM-style mail and bot templates; the 400
# answers (unknown template, deny_for_http_user, render errors); another user's usi (404);
# the admin render for a user (user_id); public templates (allow_public, anonymous, user_id
# ignored, no_parse); the output formats json, html, qrcode (SVG) and qrcode_png (PNG).
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Encode qw(encode_utf8 decode_utf8);
use JSON::PP;
use File::Temp ();
use File::Spec;
use FindBin;
use BilldTest qw(engines jenc);

binmode(Test::More->builder->$_, ':encoding(UTF-8)') for qw(output failure_output todo_output);

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }
sub text  { my ($r) = @_; return decode_utf8($r->{body}) }

my $FORECAST_MAIL = <<'END';
Dear {{ user.full_name }},
{{ FOR item IN user.pays.forecast.items }}
- {{ item.name }}: {{ item.total }}{{ IF item.expire }}, expires {{ item.expire }}{{ END }}
{{ END }}
{{ IF user.pays.forecast.dept }}Debt: {{ user.pays.forecast.dept }}{{ END }}
Total to pay: {{ user.pays.forecast.total }}
Cabinet: {{ config.api.url }}
END

my $BOT_MENU = <<'END';
{ "sendMessage": { "text": "Balance: {{ user.balance }}, to pay: {{ user.pays.forecast('blocked', 1).total }}",
  "reply_markup": { "inline_keyboard": [
  {{ FOR item IN ref(user.services.list_for_api('category', '%')) }}
    [ { "text": "{{ item.name }} — {{ item.status }}", "callback_data": "/service {{ item.user_service_id }}" } ],
  {{ END }}
    [ { "text": "Buy", "callback_data": "/pricelist" } ] ] } } }
END

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine, env => { TZ => 'UTC' });
        my %A = (session => $s->admin_session);
        my %uid;
        for my $login (qw(danuk bob)) {
            my $r = $s->req(PUT => '/shm/v1/admin/user', %A,
                json => { login => $login, password => 'Password1' });
            $uid{$login} = data0($r)->{user_id};
            $s->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $uid{$login},
                balance => 1000, full_name => "Full $login" });
        }
        my $r = $s->req(PUT => '/shm/v1/admin/service', %A, json => { name => 'VPN ${LOC}',
            cost => 100, period => 1, category => 'vpn', allow_to_order => 1 });
        my $svc = data0($r)->{service_id};
        $r = $s->req(POST => '/shm/v1/admin/config/api', %A,
            body => '{"url":"https://bill.example"}', type => 'application/json');
        is $r->{status}, 200, 'config api.url' or diag $r->{body};
        my $sd = $s->login('danuk', 'Password1');
        my $sb = $s->login('bob', 'Password1');
        $r = $s->req(PUT => '/shm/v1/service/order', session => $sd,
            json => { service_id => $svc });
        my $usi = data0($r)->{user_service_id};
        ok $usi, 'danuk ordered a service' or diag $r->{body};
        $r = $s->req(POST => '/shm/v1/admin/user/service', %A,
            json => { user_id => $uid{danuk}, user_service_id => $usi, settings => { loc => 'nl' } });
        is $r->{status}, 200, 'service settings' or diag $r->{body};
        $r = $s->req(PUT => '/shm/v1/service/order', session => $sb, json => { service_id => $svc });
        my $usi_bob = data0($r)->{user_service_id};

        my $put = sub {
            my ($id, $data, $settings) = @_;
            my $r = $s->req(PUT => '/shm/v1/admin/template', %A,
                json => { id => $id, data => $data, ($settings ? (settings => $settings) : ()) });
            is $r->{status}, 200, "template $id stored" or diag $r->{body};
        };

        subtest 'us.gen_store_pass: a password stored in the service settings' => sub {
            $put->('vpn_create',
                'vpn_create.sh --login="vpn_{{ us.id }}" --password="{{ us.gen_store_pass }}"');
            my $r = $s->req(GET => '/shm/v1/template/vpn_create', session => $sd,
                query => { usi => $usi });
            is $r->{status}, 200, 'rendered';
            like $r->{headers}{'content-type'}, qr{^text/plain; charset=utf-8}, 'plain text';
            my ($pw) = $r->{body} =~ /^vpn_create\.sh --login="vpn_\Q$usi\E" --password="([A-Za-z0-9]{10})"$/;
            ok $pw, 'the command with a new 10-character password' or diag $r->{body};
            $r = $s->req(GET => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid{danuk} });
            my ($row) = grep { $_->{user_service_id} == $usi } @{ $r->{json}{data} || [] };
            is $row->{settings}{password}, $pw, 'visible in the service settings (admin list)';
            is $row->{settings}{loc}, 'nl', 'other settings kept';
            $r = $s->req(GET => '/shm/v1/template/vpn_create', session => $sd,
                query => { usi => $usi });
            like $r->{body}, qr/--password="\Q$pw\E"$/, 'the same password the next time';
            $r = $s->req(GET => '/shm/v1/template/vpn_create', session => $sb,
                query => { usi => $usi });
            is $r->{status}, 404, "another user's usi is a 404 (D11)";
            is_deeply $r->{json}, { error => 'Object not found. Check the ID.', status => 404 },
              'error body';
            $r = $s->req(GET => '/shm/v1/admin/user/service', %A,
                query => { user_id => $uid{bob} });
            ok !exists data0($r)->{settings}{password}, "bob's service untouched";
            $r = $s->req(GET => '/shm/v1/template/vpn_create', %A,
                query => { usi => $usi_bob });
            like $r->{body}, qr/--login="vpn_\Q$usi_bob\E" --password="[A-Za-z0-9]{10}"/,
              'an admin may render any service';
        };

        subtest 'request.params and the golden template (48, 49, 50)' => sub {
            $put->('golden_tpl', 'Hello {{ user.login }} ({{ user.id }}), balance={{ user.balance }} x={{ request.params.x }}');
            my $r = $s->req(GET => '/shm/v1/template/golden_tpl', session => $sd,
                query => { x => 42 });
            is $r->{status}, 200, 'GET';
            is $r->{body}, "Hello danuk ($uid{danuk}), balance=900 x=42", 'GET output';
            $r = $s->req(POST => '/shm/v1/template/golden_tpl', session => $sd,
                json => { x => 'posted' });
            is $r->{status}, 200, 'POST';
            is $r->{headers}{'content-type'}, 'text/plain; charset=utf-8', 'content type';
            is $r->{body}, "Hello danuk ($uid{danuk}), balance=900 x=posted", 'POST JSON body';
            $r = $s->req(POST => '/shm/v1/template/golden_tpl', session => $sd,
                body => 'x=form', type => 'application/x-www-form-urlencoded');
            like $r->{body}, qr/ x=form$/, 'POST form body';
            $put->('args', '[{{ x }}][{{ request.params.POSTDATA }}]');
            $r = $s->req(POST => '/shm/v1/template/args', session => $sd, query => { x => 1 },
                body => 'raw text', type => 'text/plain');
            is $r->{body}, '[][raw text]', 'arguments are not variables; raw body as POSTDATA';
            $r = $s->req(GET => '/shm/v1/template/no_such_tpl', session => $sd);
            is $r->{status}, 400, 'unknown template';
            is_deeply $r->{json}, { error => 'Template not found', status => 400 }, 'golden 50';
            $r = $s->req(GET => '/shm/v1/template/golden_tpl');
            is $r->{status}, 401, 'needs a session';
        };

        subtest 'admin render for a user' => sub {
            my $r = $s->req(GET => '/shm/v1/template/golden_tpl', %A,
                query => { user_id => $uid{bob}, x => 'a' });
            is $r->{body}, "Hello bob ($uid{bob}), balance=900 x=a", 'rendered as bob';
            $r = $s->req(GET => '/shm/v1/template/golden_tpl', session => $sd,
                query => { user_id => $uid{bob}, x => 'a' });
            like $r->{body}, qr/^Hello danuk /, "a user's user_id is ignored";
            $put->('peek', '[{{ user(' . $uid{bob} . ').login }}|{{ us(' . $usi_bob . ').id }}]');
            is $s->req(GET => '/shm/v1/template/peek', session => $sd)->{body}, '[|]',
              "a user's template cannot read another user (D11)";
            is $s->req(GET => '/shm/v1/template/peek', %A)->{body}, "[bob|$usi_bob]",
              'an admin render can';
        };

        subtest 'deny_for_http_user' => sub {
            $put->('internal', 'secret {{ user.login }}', { deny_for_http_user => 1 });
            my $r = $s->req(GET => '/shm/v1/template/internal', session => $sd);
            is $r->{status}, 400, 'refused for a user';
            is_deeply $r->{json},
              { error => 'Template is not allowed for http use by user', status => 400 }, 'message';
            $r = $s->req(GET => '/shm/v1/template/internal', %A);
            is $r->{status}, 200, 'an admin may';
            is $r->{body}, 'secret admin', 'admin output';
        };

        subtest 'render errors' => sub {
            $put->('broken', 'a {{ IF }}');
            my $r = $s->req(GET => '/shm/v1/template/broken', session => $sd);
            is $r->{status}, 400, 'parse error';
            like $r->{json}{error}, qr/^Template render error: template broken:1:/, 'with position';
            $put->('perl', "x\n{{ PERL }}print 1;{{ END }}");
            $r = $s->req(GET => '/shm/v1/template/perl', session => $sd);
            is $r->{status}, 400, 'PERL blocks refused (D6)';
            like $r->{json}{error}, qr/template perl:2:/, 'naming the line';
            $put->('reported', "{{ IF !request.params.ok }}{{ report.add_error('Field ok: required') }}{{ END }}{{ tpl.id }}");
            $r = $s->req(GET => '/shm/v1/template/reported', session => $sd);
            is $r->{status}, 400, 'report.add_error fails the call';
            is_deeply $r->{json}, { error => 'Field ok: required', status => 400 }, 'with its message';
            $r = $s->req(GET => '/shm/v1/template/reported', session => $sd, query => { ok => 1 });
            is $r->{body}, 'reported', 'otherwise the output (tpl.id)';
        };

        subtest 'SHM-style mail and bot templates' => sub {
            $put->('forecast_mail', $FORECAST_MAIL);
            my $f = $s->req(GET => '/shm/v1/user/pay/forecast', session => $sd);
            my $fc = data0($f);
            my $want = "Dear Full danuk,\n";
            for my $it (@{ $fc->{items} || [] }) {
                $want .= "- $it->{name}: $it->{total}"
                  . ($it->{expire} ? ", expires $it->{expire}" : '') . "\n";
            }
            $want .= "Debt: $fc->{dept}\n" if $fc->{dept};
            $want .= "Total to pay: $fc->{total}\nCabinet: https://bill.example";
            my $r = $s->req(GET => '/shm/v1/template/forecast_mail', session => $sd);
            is text($r), $want, 'forecast mail';
            $put->('bot_menu', $BOT_MENU);
            $r = $s->req(GET => '/shm/v1/template/bot_menu', session => $sd);
            my $j = eval { JSON::PP->new->utf8->relaxed->decode($r->{body}) };
            ok $j, 'bot reply is JSON (trailing commas allowed as Telegram templates rely on)'
              or diag $r->{body};
            is $j->{sendMessage}{text}, "Balance: 900, to pay: $fc->{total}", 'text';
            is_deeply $j->{sendMessage}{reply_markup}{inline_keyboard},
              [ [ { text => 'VPN nl — ACTIVE', callback_data => "/service $usi" } ],
                [ { text => 'Buy', callback_data => '/pricelist' } ] ], 'keyboard';
        };

        subtest 'public templates (D12)' => sub {
            $put->('pub', '[{{ user.login }}|{{ us.id }}] a={{ request.params.a }} url={{ config.api.url }}',
                { allow_public => 1 });
            $put->('priv', 'no');
            $put->('raw', 'raw {{ user.login }}', { allow_public => 1, no_parse => 1 });
            my $r = $s->req(GET => '/shm/v1/public/pub',
                query => { a => 7, user_id => $uid{danuk}, usi => $usi });
            is $r->{status}, 200, 'anonymous';
            is $r->{body}, '[|] a=7 url=https://bill.example', 'no user, user_id and usi ignored';
            $r = $s->req(POST => '/shm/v1/public/pub', json => { a => 'p' }, session => $sd);
            is $r->{body}, '[|] a=p url=https://bill.example', 'POST; a session changes nothing';
            $r = $s->req(GET => '/shm/v1/public/priv');
            is $r->{status}, 400, 'not public';
            is_deeply $r->{json}, { error => 'Template not found', status => 400 }, 'message';
            $r = $s->req(GET => '/shm/v1/public/nothing');
            is $r->{status}, 400, 'missing';
            $r = $s->req(GET => '/shm/v1/public/raw');
            is $r->{body}, 'raw {{ user.login }}', 'no_parse: the raw text';
        };

        subtest 'formats' => sub {
            $put->('fmt', '{"a":{{ user.id }}}');
            my $r = $s->req(GET => '/shm/v1/template/fmt', session => $sd,
                query => { format => 'json' });
            like $r->{headers}{'content-type'}, qr{^application/json}, 'json';
            is_deeply $r->{json}, { a => $uid{danuk} }, 'json body as rendered';
            $r = $s->req(GET => '/shm/v1/template/fmt', session => $sd,
                query => { format => 'html' });
            like $r->{headers}{'content-type'}, qr{^text/html}, 'html';
            $put->('link', 'https://vpn.example/sub/{{ user.id }}');
            $r = $s->req(GET => '/shm/v1/template/link', session => $sd,
                query => { format => 'qrcode_png' });
            is $r->{status}, 200, 'qrcode_png';
            is $r->{headers}{'content-type'}, 'image/png', 'PNG content type';
            my $b = $r->{body};
            is substr($b, 0, 8), "\x89PNG\r\n\x1a\n", 'PNG signature';
            is substr($b, 12, 4), 'IHDR', 'IHDR first';
            my ($w, $h, $depth, $type) = unpack('NNCC', substr($b, 16, 10));
            is $w, $h, 'square';
            my $modules = $w / 4 - 8;
            ok $modules >= 21 && ($modules - 17) % 4 == 0, "a QR size ($modules modules)";
            is $depth, 1, '1-bit';
            is substr($b, -8, 4), 'IEND', 'IEND last';
            $r = $s->req(GET => '/shm/v1/template/link', session => $sd,
                query => { format => 'qrcode' });
            is $r->{headers}{'content-type'}, 'image/svg+xml', 'qrcode is SVG (api.md §7.3)';
            like $r->{body}, qr{<svg xmlns="http://www.w3.org/2000/svg"}, 'an SVG document';
            $put->('empty', '{{ "" }}');
            $r = $s->req(GET => '/shm/v1/template/empty', session => $sd,
                query => { format => 'qrcode_png' });
            is $r->{status}, 400, 'nothing to encode';
        };

        subtest 'http object (templates.md §7.10)' => sub {
            my $echo = $s->base . '/shm/v1/test/http/echo';
            $put->('http_post', "{{ r = http.post('$echo', content = { a = user.id, b = 'x' }) }}"
                . '{{ r.data.0.method }}|{{ r.data.0.payload.a }}|{{ r.data.0.payload.b }}');
            my $r = $s->req(GET => '/shm/v1/template/http_post', session => $sd);
            is $r->{body}, "POST|$uid{danuk}|x", 'POST with a JSON body, JSON answer decoded';
            $put->('http_get', "{{ r = http.get('$echo', content = { q = 'a b' }, full_response = 1) }}"
                . '{{ r.http_code }}|{{ r.http_status_line }}|{{ r.body.data.0.payload.q }}|'
                . "{{ http.put('$echo', 'content', 'raw', 'content_type', 'text/plain').data.0.payload.PUTDATA }}");
            $r = $s->req(GET => '/shm/v1/template/http_get', session => $sd);
            is $r->{body}, '200|200 OK|a b|raw', 'GET query from content, full_response, key/value arguments';
            $put->('http_down', "[{{ http.get('http://127.0.0.1:1/x', timeout = 2) }}]"
                . "{{ http.get('http://127.0.0.1:1/x', full_response = 1).http_code }}");
            $r = $s->req(GET => '/shm/v1/template/http_down', session => $sd);
            is $r->{body}, '[]500', 'no answer: undefined, or 500 with full_response';
            $put->('http_file', "{{ http.get('file:///etc/passwd') }}");
            $r = $s->req(GET => '/shm/v1/template/http_file', session => $sd);
            is $r->{status}, 400, 'only http(s) URLs (D13: no files)';
        };

        subtest 'billd template check (D19)' => sub {
            my $check = sub {
                my (@args) = @_;
                local $ENV{DATABASE_URL}     = $s->db_url;
                local $ENV{BILLD_SECRET_KEY} = '00' x 32;
                my $cmd = join ' ', map { "'$_'" } $ENV{BILLD_BIN}, 'template', 'check', @args;
                my $out = `$cmd 2>&1`;
                return ($? >> 8, decode_utf8($out));
            };
            my $dir = File::Temp::tempdir(CLEANUP => 1);
            my $write = sub {
                my ($name, $text) = @_;
                open my $fh, '>:utf8', "$dir/$name" or die $!;
                print $fh $text;
                close $fh;
                return "$dir/$name";
            };
            my $sh = $write->('vpn.sh', "#!/bin/sh\nuseradd \"{{ user.login }}\" {{ user.login | shell }}\n"
                . "{{ IF us.settings.x }}x{{ END }}{{ pw = us.gen_store_pass }}\necho {{ us.settings.domain }}\n");
            my ($rc, $out) = $check->($sh);
            is $rc, 0, 'warnings alone exit 0';
            is $out, "$sh:2:13: warning: user-controlled value user.login reaches a shell command unescaped; add | shell (D19)\n"
              . "$sh:4:9: warning: user-controlled value us.settings reaches a shell command unescaped; add | shell (D19)\n"
              . "$sh: 2 warnings\n", 'line:column of each unescaped value';
            ($rc) = $check->('--strict', $sh);
            is $rc, 1, '--strict fails on warnings';
            my $mail = $write->('mail.tpl', "Hi {{ user.login }}\n");
            ($rc, $out) = $check->($mail);
            is $rc, 0, 'not a shell template: clean';
            is $out, "$mail: ok\n", 'ok';
            my $bad = $write->('bad.tpl', "line one\n  {{ IF }}\n");
            ($rc, $out) = $check->($bad);
            is $rc, 1, 'parse error exits 1';
            is $out, "$bad:2:9: error: parse error - unexpected end of directive\n", 'with line:column';
            ($rc) = $check->();
            is $rc, 2, 'usage';
            ($rc, $out) = $check->($dir);
            is $rc, 1, 'a directory is refused';
            like $out, qr/is not a regular file/, 'with a message';
            # stored templates: shell context when an ssh server names the template
            $put->('ssh_cmd', 'adduser {{ user.login }}');
            ($rc, $out) = $check->('ssh_cmd');
            is $out, "ssh_cmd: ok\n", 'a stored template not used by ssh';
            my $r = $s->req(PUT => '/shm/v1/admin/server', %A, json => { name => 'vpn', transport => 'ssh',
                host => 'root@10.0.0.9', settings => { template_id => 'ssh_cmd' } });
            is $r->{status}, 200, 'ssh server using it' or diag $r->{body};
            ($rc, $out) = $check->('ssh_cmd');
            is $out, "ssh_cmd:1:12: warning: user-controlled value user.login reaches a shell command "
              . "unescaped; add | shell (D19)\nssh_cmd: 1 warning\n", 'now a shell template';
            $r = $s->req(POST => '/shm/v1/admin/template', %A, json => { id => 'ssh_cmd',
                settings => { auto_escape => 'shell' } });
            is $r->{status}, 200, 'settings updated' or diag $r->{body};
            ($rc, $out) = $check->('ssh_cmd');
            is $out, "ssh_cmd: ok\n", 'auto_escape: shell escapes everything';
            ($rc, $out) = $check->('no_such_template');
            is $rc, 1, 'unknown id';
        };

        $s->stop;
    };
}

# templates.md §9.1 on SHM's own dev seed (../shared/fixtures/shm), imported with billd import-shm:
# the stored web_tariff_create for usi 99 and the forecast vectors under the test clock.
my $fx = File::Spec->rel2abs("$FindBin::Bin/../../../shared/fixtures/shm");
if (-f "$fx/shm_dev_test_data.sql" && -f "$fx/shm_structure.sql") {
    for my $engine (engines()) {
        subtest "$engine: dev seed vectors (templates.md §9.1)" => sub {
            my $s = BilldTest->start(engine => $engine, env => { BILLD_TEST_CLOCK => 1 },
                prepare => sub {
                    my ($s) = @_;
                    local $ENV{DATABASE_URL}     = $s->db_url;
                    local $ENV{BILLD_SECRET_KEY} = '5eed' x 16;
                    local $ENV{LOG_LEVEL}        = 'warn';
                    my $out = `"$ENV{BILLD_BIN}" import-shm "$fx/shm_structure.sql" "$fx/shm_dev_test_data.sql" 2>&1 </dev/null`;
                    is $?, 0, 'dev seed imported' or diag $out;
                });
            my $admin = $s->login('admin', 'admin');
            my $danuk = $s->login('danuk', 'danuk');
            my $r = $s->req(GET => '/shm/v1/template/web_tariff_create', session => $danuk,
                query => { usi => 99 });
            is $r->{status}, 200, 'web_tariff_create for usi 99' or diag $r->{body};
            my $t = decode_utf8($r->{body});
            like $t, qr/^Здравствуйте Фирсов Даниил Андреевич\n/, 'greeting with the full name';
            like $t, qr/Вы зарегистрировали новую услугу: Тариф X-MAX \(10000 мб\)\n/, 'service name';
            like $t, qr/Дата истечения услуги: 2017-01-31 23:59:50\n/, 'expire';
            like $t, qr/Стоимость услуги: 300 руб\.\n/, 'cost';
            like $t, qr/Хост: host1\.domain\.ru\nЛогин: w_101\nПароль: enos1aer\n/,
              'host, login and password of the web child';
            $r = $s->req(POST => '/shm/v1/admin/test/clock', session => $admin,
                json => { now => '2025-06-01 12:00:00' });
            is $r->{status}, 200, 'test clock' or diag $r->{body};
            $danuk = $s->login('danuk', 'danuk');
            $admin = $s->login('admin', 'admin');
            $s->req(PUT => '/shm/v1/admin/template', session => $admin, json => { id => 'fc',
                data => '{{ user.id(1).pays.forecast.total }}|{{ user.id(40092).pays.forecast.total }}|{{ user.pays.forecast.total }}' });
            $r = $s->req(GET => '/shm/v1/template/fc', session => $admin);
            is $r->{body}, '0|1035.01|0', 'as admin: user 1 owes 0, 40092 1035.01';
            $r = $s->req(GET => '/shm/v1/template/fc', session => $danuk);
            is $r->{body}, '|1035.01|1035.01', 'as danuk: user 1 is not visible (D11), own forecast 1035.01';
            $s->stop;
        };
    }
}
done_testing;
