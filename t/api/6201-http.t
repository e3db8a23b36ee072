# The http transport end to end (transports.md §2, spool.md §5.4, DECISIONS D9) and billd's
# own echo peer (api.md R3–R6), on both engines: an event bound to a server group with
# transport http, a service order queues the task, `billd spool --once` runs it against
# HttpPeer on 127.0.0.1 — URL and body rendered as the user with us/event_name, user agent
# SHM, headers from the server settings; 2xx → SUCCESS (us ACTIVE); 404 → SUCCESS with the
# error (no retry); 503 → FAIL (retried, the task stays); storage_save_key keeps the answer
# in the user's storage; a task that posts to billd's own
# /shm/v1/test/http/echo gets its body back.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP;
use BilldTest qw(engines);
use HttpPeer;

my $JSON = JSON::PP->new->canonical->allow_nonref;
my ($S, %A);

# Proxies of the developer's shell must not reach billd or the spool process.
my @NO_PROXY = map { ($_ => undef) } qw(http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy
                                         ALL_PROXY no_proxy NO_PROXY);
delete @ENV{qw(http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY)};

sub data0 { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data}[0] // {} : {} }

sub ok_req {
    my ($method, $path, $json, $what) = @_;
    my $r = $S->req($method => "/shm/v1$path", %A, json => $json);
    is $r->{status}, 200, $what // "$method $path" or diag $r->{body};
    return $r;
}

sub one { my @r = $S->sql($_[0]); return $r[0] }

sub run_spool {
    local $ENV{DATABASE_URL}     = $S->db_url;
    local $ENV{BILLD_SECRET_KEY} = '5eed' x 16;
    local $ENV{TZ}               = 'UTC';
    local $ENV{LOG_LEVEL}        = 'warn';
    my $out = `"$ENV{BILLD_BIN}" spool --once 2>&1`;
    is $?, 0, 'billd spool --once' or diag $out;
}

# A server group with transport http and one server on host; an event for category.
sub http_group {
    my ($category, $host, $settings) = @_;
    my $gid = data0(ok_req(PUT => '/admin/server/group',
        { name => "http-$category", transport => 'http' }, "group $category"))->{group_id};
    ok_req(PUT => '/admin/server', { server_gid => $gid, name => "http-$category",
        transport => 'http', host => $host, settings => $settings // {} }, "server $category");
    ok_req(PUT => '/admin/service/event', { title => "create $category", name => 'create',
        server_gid => $gid, settings => { category => $category, template_id => 'http_create' } },
        "event create for $category");
}

# Orders a new service of category for a new user; returns (user_id, usi).
sub order_one {
    my ($category, $login) = @_;
    my $sid = data0(ok_req(PUT => '/admin/service', { name => "svc $category", period => 1,
        allow_to_order => 1, cost => 0, category => $category }, "service $category"))->{service_id};
    my $uid = data0(ok_req(PUT => '/admin/user', { login => $login, password => 'Password1' },
        "user $login"))->{user_id};
    my $us = data0(ok_req(PUT => '/admin/service/order', { user_id => $uid, service_id => $sid },
        "order $category"));
    is $us->{status}, 'PROGRESS', "$category: PROGRESS after the order";
    return ($uid, $us->{user_service_id});
}

sub last_history {
    my ($usi) = @_;
    my ($st, $resp) = split /\|/, one("SELECT status, response FROM spool_history"
        . " WHERE user_service_id = $usi ORDER BY id DESC"), 2;
    return ($st, $JSON->decode($resp)->{response});
}

sub us_status { one("SELECT status FROM user_services WHERE user_service_id = $_[0]") // '' }

for my $engine (engines()) {
    subtest $engine => sub {
        my $peer = HttpPeer->start(dir => tempdir(CLEANUP => 1));
        $S = BilldTest->start(engine => $engine, env => { @NO_PROXY });
        %A = (session => $S->admin_session);
        $S->sql("INSERT INTO templates (id, data) VALUES ('http_create',"
            . " '{\"usi\":{{ us.id }},\"event\":\"{{ event_name }}\",\"login\":\"{{ user.login }}\"}')");

        subtest 'echo route (R3–R6)' => sub {
            my $r = $S->req(POST => '/shm/v1/test/http/echo', json => { test => 'тест', n => 1 });
            is $r->{status}, 200, 'POST echo';
            is_deeply $r->{json}{data}, [ { payload => { test => 'тест', n => 1 }, method => 'POST' } ],
                'JSON body → payload';
            $r = $S->req(GET => '/shm/v1/test/http/echo', query => { a => 1, b => 'два' });
            is_deeply $r->{json}{data}[0], { payload => { a => '1', b => 'два' }, method => 'GET' },
                'GET query → payload';
            $r = $S->req(POST => '/shm/v1/test/http/echo', body => 'plain text', type => 'text/plain');
            is $r->{json}{data}[0]{payload}{POSTDATA}, 'plain text', 'text body → payload.POSTDATA';
            $r = $S->req(PUT => '/shm/v1/test/http/echo', json => { x => 1 });
            is $r->{json}{data}[0]{method}, 'PUT', 'PUT';
            $r = $S->req(DELETE => '/shm/v1/test/http/echo');
            is $r->{status}, 200, 'DELETE status';
            is $r->{json}{data}[0]{method}, 'DELETE', 'DELETE method';
            $r = $S->req(POST => '/shm/v1/test/http/echo?format=json', json => { test => 1 });
            is_deeply $r->{json}, { payload => { test => 1, format => 'json' }, method => 'POST' },
                'format=json: the object without the envelope';
        };

        subtest '2xx: SUCCESS, rendered URL and body, us ACTIVE' => sub {
            http_group('http-ok', $peer->url('/json/{{ us.id }}/{{ event_name }}'),
                { headers => { 'X-Api-Key' => 'k-123' } });
            my ($uid, $usi) = order_one('http-ok', 'http-ok-user');
            run_spool();
            my @req = grep { $_->{path} =~ m{^/json/} } $peer->requests;
            is scalar @req, 1, 'one request reached the peer';
            is $req[0]{method}, 'POST', 'POST by default';
            is $req[0]{path}, "/json/$usi/CREATE", 'URL rendered as a template';
            is_deeply $JSON->decode($req[0]{body}),
                { usi => $usi + 0, event => 'CREATE', login => 'http-ok-user' }, 'body = the template';
            is $req[0]{headers}{'user-agent'}, 'SHM', 'user agent SHM';
            is $req[0]{headers}{'x-api-key'}, 'k-123', 'headers from the server settings';
            is $req[0]{headers}{'content-type'}, 'application/json; charset=utf-8', 'default content type';
            is us_status($usi), 'ACTIVE', 'the service is ACTIVE';
            my ($st, $resp) = last_history($usi);
            is $st, 'SUCCESS', 'history SUCCESS';
            is $resp->{status}{code}, 200, 'status code';
            is $resp->{status}{line}, '200 OK', 'status line';
            is $resp->{message}, 'successful', 'message';
            is $resp->{response}{hello}, 'мир', 'the JSON answer';
            is $resp->{request}{method}, 'post', 'request method';
        };

        subtest 'storage_save_key: the answer in the user storage, linked to the us' => sub {
            http_group('http-store', $peer->url('/json/store'), { storage_save_key => 'panel_answer' });
            my ($uid, $usi) = order_one('http-store', 'http-store-user');
            run_spool();
            is us_status($usi), 'ACTIVE', 'the service is ACTIVE';
            is one("SELECT user_service_id FROM storage WHERE user_id = $uid AND name = 'panel_answer'"),
                $usi, 'entry linked to the user service';
            my $r = $S->req(GET => '/shm/v1/storage/manage/panel_answer', %A,
                query => { user_id => $uid });
            is $r->{status}, 200, 'read back' or diag $r->{body};
            my $saved = eval { $JSON->decode($r->{body}) } // {};
            is $saved->{path}, '/json/store', 'the saved answer';
        };

        subtest '404: SUCCESS with the error, not retried (D9)' => sub {
            http_group('http-404', $peer->url('/status/404'));
            my (undef, $usi) = order_one('http-404', 'http-404-user');
            run_spool();
            my ($st, $resp) = last_history($usi);
            is $st, 'SUCCESS', 'history SUCCESS';
            is $resp->{error}, '404 Not Found', 'the error';
            is $resp->{response}{status}, 404, 'the JSON answer';
            is one("SELECT count(*) FROM spool WHERE user_service_id = $usi"), 0, 'task done';
        };

        subtest '503: FAIL, retried later' => sub {
            http_group('http-503', $peer->url('/status/503'));
            my (undef, $usi) = order_one('http-503', 'http-503-user');
            run_spool();
            my ($st, $resp) = last_history($usi);
            is $st, 'FAIL', 'history FAIL';
            is $resp->{error}, '503 Service Unavailable', 'the error';
            is one("SELECT status FROM spool WHERE user_service_id = $usi"), 'FAIL',
                'the task stays for a retry';
            is us_status($usi), 'PROGRESS', 'the service waits';
        };

        subtest "a task posting to billd's own echo" => sub {
            http_group('http-echo', $S->base . '/shm/v1/test/http/echo', { method => 'put' });
            my (undef, $usi) = order_one('http-echo', 'http-echo-user');
            run_spool();
            my ($st, $resp) = last_history($usi);
            is $st, 'SUCCESS', 'history SUCCESS';
            is_deeply $resp->{response}{data},
                [ { method => 'PUT', payload => { usi => $usi + 0, event => 'CREATE',
                                                  login => 'http-echo-user' } } ],
                'the echo answered the rendered body';
        };

        $S->stop;
        $peer->stop;
    };
}
done_testing;
