# Front door: health checks, envelope, 404s, CORS, OpenAPI documents, request-body limits and
# HTTP framing (api.md §2, §3, §4.1, §6.2, §7, §12 L4, §13; golden 01, 03, 53, 65).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc raw_status parse_raw);

my $DATE_RE = qr/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;
my $NOT_FOUND = '{"error":"Method not found","status":404}';

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine);

        subtest 'healthcheck envelope' => sub {
            my $r = $s->req(GET => '/shm/v1/healthcheck');
            is $r->{status}, 200, 'status 200';
            is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'content type';
            is_deeply [ sort keys %{ $r->{json} || {} } ],
              [qw(TZ data date items limit offset status)], 'exactly the GET envelope keys';
            is jenc($r, 'TZ'),     '"UTC"',                    'TZ';
            is jenc($r, 'data'),   '[{"result":"SUCCESS"}]',   'data';
            is jenc($r, 'items'),  '1',                        'items is the number 1';
            is jenc($r, 'limit'),  '25',                       'limit is the number 25';
            is jenc($r, 'offset'), '0',                        'offset is the number 0';
            is jenc($r, 'status'), '200',                      'status is the number 200';
            like $r->{json}{date}, $DATE_RE, 'date in localtime() form';
        };

        subtest 'legacy healthcheck.cgi' => sub {
            my $r = $s->req(GET => '/shm/healthcheck.cgi');
            is $r->{status}, 204, 'status 204';
            is $r->{body},   '',  'empty body';
        };

        subtest 'company' => sub {
            my $r = $s->req(GET => '/shm/v1/company');
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data'), '[{"name":"My Company LTD"}]', 'default company';
            is jenc($r, 'status'), '200', 'envelope status';
        };

        subtest 'not found' => sub {
            my $r = $s->req(GET => '/shm/v1/no/such/route');
            is $r->{status}, 404, 'unknown route: 404';
            is canon($r), $NOT_FOUND, 'unknown route: body';
            is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'content type';

            $r = $s->req(DELETE => '/shm/v1/user/auth');
            is $r->{status}, 404, 'known path, wrong method: 404';
            is canon($r), $NOT_FOUND, 'known path, wrong method: body';

            $r = $s->req(GET => '/no_such_file.html');
            is $r->{status}, 404, 'outside the API: 404';
        };

        subtest 'CORS' => sub {
            my $r = $s->req(GET => '/shm/v1/healthcheck', headers => { Origin => 'http://x.example' });
            is $r->{status}, 200, 'status 200';
            is $r->{headers}{'access-control-allow-origin'}, 'http://x.example', 'origin echoed';
            is $r->{headers}{'access-control-allow-credentials'}, 'true', 'credentials allowed';

            $r = $s->req(OPTIONS => '/shm/v1/user',
                headers => { Origin => 'http://x.example', 'Access-Control-Request-Method' => 'PUT' });
            is $r->{status}, 204, 'preflight: 204';
            is $r->{headers}{'access-control-allow-origin'}, 'http://x.example', 'preflight: origin';
            is $r->{headers}{'access-control-allow-credentials'}, 'true', 'preflight: credentials';
            like $r->{headers}{'access-control-allow-methods'} // '', qr/\bPUT\b/,
              'preflight: PUT allowed';
        };

        subtest 'OpenAPI documents' => sub {
            my $r = $s->req(GET => '/shm/v1/swagger.json');
            is $r->{status}, 200, 'swagger.json: 200';
            my $doc = $r->{json};
            is ref $doc, 'HASH', 'swagger.json is a JSON object';
            like $doc->{openapi} // '', qr/^3\./, 'OpenAPI 3.x';
            my $paths = ref $doc->{paths} eq 'HASH' ? $doc->{paths} : {};
            ok exists $paths->{'/user'},      'has /user';
            ok exists $paths->{'/user/auth'}, 'has /user/auth';
            is_deeply [ grep { m{^/admin} } sort keys %$paths ], [], 'no admin paths';

            $r = $s->req(GET => '/shm/v1/swagger_admin.json');
            is $r->{status}, 200, 'swagger_admin.json: 200';
            my $adm = ref $r->{json} eq 'HASH' && ref $r->{json}{paths} eq 'HASH' ? $r->{json}{paths} : {};
            ok exists $adm->{'/admin/user'}, 'admin document has /admin/user';
            like $r->{json}{openapi} // '', qr/^3\./, 'admin document: OpenAPI 3.x';
        };

        subtest 'malformed JSON body' => sub {
            my $r = $s->req(POST => '/shm/v1/user/auth', body => '{"login":', type => 'application/json');
            is $r->{status}, 400, 'status 400';
            is_deeply [ sort keys %{ $r->{json} || {} } ], [qw(error status)], 'error envelope keys';
            is jenc($r, 'status'), '400', 'status key';
            like $r->{json}{error} // '', qr/\S/, 'an error message';
        };

        subtest 'body over 1 MiB' => sub {
            # Sent over a raw socket that keeps reading while it writes (as RFC 9112 §9.5 asks
            # of clients), so an early 413 is seen even if the server stops reading the body.
            my $body = '{"login":"admin","password":"x","pad":"' . ('a' x (1536 * 1024)) . '"}';
            my $t = $s->raw("POST /shm/v1/user/auth HTTP/1.1\r\nHost: t\r\n"
                  . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n"
                  . "Connection: close\r\n\r\n$body", timeout => 10);
            my $r = parse_raw($t) || {};
            is $r->{status}, 413, 'status 413';
            is jenc($r, 'status'), '413', 'JSON status 413';
            like $r->{json}{error} // '', qr/\S/, 'an error message';
            is $s->req(GET => '/shm/v1/healthcheck')->{status}, 200, 'server still answers';
        };

        subtest 'HTTP framing' => sub {
            my $t = $s->raw("POST /shm/v1/user/auth HTTP/1.1\r\nHost: t\r\n"
                  . "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
                  . "Connection: close\r\n\r\n{}x");
            is raw_status($t), 400, 'two different Content-Length headers: 400';

            # an encoded NUL would cut the decoded path short ("a%00b" -> "a")
            $t = $s->raw("GET /shm/v1/healthcheck%00x HTTP/1.1\r\nHost: t\r\n"
                  . "Connection: close\r\n\r\n");
            is raw_status($t), 400, 'encoded NUL in the path: 400';
            like $t, qr/"error":"Invalid URL: encoded NUL"/, 'encoded NUL: JSON error';

            $t = $s->raw("POST /shm/v1/user/auth HTTP/1.1\r\nHost: t\r\n"
                  . "Content-Type: application/json\r\nContent-Length: 7\r\n"
                  . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
            is raw_status($t), 400, 'Content-Length with Transfer-Encoding: 400';

            $t = $s->raw("POST /shm/v1/user/auth HTTP/1.1\r\nHost: t\r\n"
                  . "Content-Type: application/json\r\nTransfer-Encoding: xchunked\r\n"
                  . "Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
            my $st = raw_status($t);
            ok defined $st, 'unknown Transfer-Encoding: answered (no hang)';
            like $st // 'none', qr/^(?:400|501)$/, 'unknown Transfer-Encoding: 400 or 501';

            $t = $s->raw("GET /shm/v1/healthcheck HTTP/1.1\r\nHost: t\r\nX-Big: "
                  . ('a' x (70 * 1024)) . "\r\nConnection: close\r\n\r\n");
            $st = raw_status($t);
            like $st // 'none', qr/^(?:431|400)$/, '70 KiB header: 431 or 400';

            my $r = $s->req(GET => '/shm/v1/healthcheck');
            is $r->{status}, 200, 'server still answers after the framing tests';
        };

        $s->stop;
    };
}

done_testing;
