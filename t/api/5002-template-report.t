# The template endpoints and `report` / `misc.ip_rate_limit` (templates.md §7.14, §7.17, §8):
# report.status(N) and report.headers({…}) set the status and extra headers of a successful
# answer (a redirect from a public template), report.add_error still answers 400, headers that
# would break the framing are refused; misc.ip_rate_limit counts per client IP (X-Real-IP from
# the local test client) so a public template can answer 429 itself.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines);

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine, env => { TZ => 'UTC' });
        my %A = (session => $s->admin_session);
        my $put = sub {
            my ($id, $data, $settings) = @_;
            my $r = $s->req(PUT => '/shm/v1/admin/template', %A,
                json => { id => $id, data => $data, ($settings ? (settings => $settings) : ()) });
            is $r->{status}, 200, "template $id stored" or diag $r->{body};
        };

        subtest 'status and headers' => sub {
            $put->('created', "{{ x = report.status(201) }}"
                . "{{ x = report.headers({ 'X-Billd-Test' => 'yes', 'Cache-Control' => 'no-store' }) }}"
                . "made {{ report.status }}");
            my $r = $s->req(GET => '/shm/v1/template/created', %A);
            is $r->{status}, 201, 'report.status';
            is $r->{body}, 'made 201', 'body as rendered';
            is $r->{headers}{'x-billd-test'}, 'yes', 'report.headers';
            is $r->{headers}{'cache-control'}, 'no-store', 'second header';

            $put->('go', "{{ x = report.headers({ status => 302, Location => 'https://pay.example/'"
                . " _ request.params.to }) }}", { allow_public => 1 });
            $r = $s->req(GET => '/shm/v1/public/go', query => { to => 42 });
            is $r->{status}, 302, 'a public redirect (status key of headers)';
            is $r->{headers}{location}, 'https://pay.example/42', 'Location';

            $put->('both', "{{ x = report.status(202) }}{{ report.add_error('nope') }}");
            $r = $s->req(GET => '/shm/v1/template/both', %A);
            is $r->{status}, 400, 'add_error wins over status';
            is_deeply $r->{json}, { error => 'nope', status => 400 }, 'with its message';

            $put->('cleared', "{{ report.add_error('x') }}{{ report.errors.0 }}|{{ report.is_success }}");
            $r = $s->req(GET => '/shm/v1/template/cleared', %A);
            is $r->{status}, 200, 'report.errors clears the errors';
            is $r->{body}, 'x|1', 'and returns them';

            $put->('inject', "{{ x = report.headers({ 'X-A' => \"a\\r\\nSet-Cookie: s=1\" }) }}");
            $r = $s->req(GET => '/shm/v1/template/inject', %A);
            is $r->{status}, 400, 'a header value with CR LF is refused';
            like $r->{json}{error}, qr/report.headers: header X-A is not allowed/, 'named';
            $put->('framing', "{{ x = report.headers({ 'Content-Length' => '1' }) }}");
            $r = $s->req(GET => '/shm/v1/template/framing', %A);
            is $r->{status}, 400, 'Content-Length refused';
            $put->('badstatus', "{{ x = report.status(99) }}");
            $r = $s->req(GET => '/shm/v1/template/badstatus', %A);
            is $r->{status}, 400, 'status 99 refused';
            like $r->{json}{error}, qr/99 is not an HTTP status/, 'named';
        };

        subtest 'ip_rate_limit' => sub {
            $put->('limited', "{{ IF misc.ip_rate_limit('reg', '2/600') }}{{ x = report.status(429) }}"
                . "slow down{{ ELSE }}ok{{ END }}", { allow_public => 1 });
            my @got;
            for (1 .. 3) {
                my $r = $s->req(GET => '/shm/v1/public/limited',
                    headers => { 'X-Real-IP' => '203.0.113.9' });
                push @got, "$r->{status} $r->{body}";
            }
            is_deeply \@got, [ '200 ok', '200 ok', '429 slow down' ], 'third call limited';
            my $r = $s->req(GET => '/shm/v1/public/limited',
                headers => { 'X-Real-IP' => '203.0.113.10' });
            is "$r->{status} $r->{body}", '200 ok', 'another IP counts on its own';
        };
    };
}

done_testing;
