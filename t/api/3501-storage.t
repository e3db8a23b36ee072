# Storage: per-user named blobs (other.md §1; api.md R65–R73, R156–R162, §14.2 rows 39–46;
# data-model.md §3.18; DECISIONS D11; golden 39, 41, 43, 45): raw uploads, binary-safe
# reads and downloads, JSON detection, replace/delete, lists, per-user namespaces, links to
# the owner's user services, the admin variants, size limits and name rules.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);

my $NOT_FOUND = '{"error":"Object not found. Check the ID.","status":404}';
my $EXISTS    = '{"error":"Can\'t save the data. Perhaps the record already exists?","status":400}';
my $DENIED    = '{"error":"Permission denied","status":403}';
my $CT_PLAIN  = 'text/plain; charset=utf-8';
my $CT_JSON   = 'application/json; charset=utf-8';
my $CT_BYTES  = 'application/octet-stream';

# Test data, built once for both engines.
my $ALL_BYTES = join '', map { chr } 0 .. 255, reverse 0 .. 255;
my $KEY_A     = "alice\x00\xff\xfe key \x80\xc0\r\n" . join('', map { chr } 0 .. 31);
my $KEY_B     = "bob\x00\x01\x02 \xed\xa0\x80 different bytes\n";
srand(3501);
my $BIG = pack 'N*', map { int rand 4294967296 } 1 .. (10 * 1024 * 1024 + 12345) / 4;

# Bytes compared without dumping megabytes on failure.
sub same_bytes {
    my ($got, $want, $name) = @_;
    my $ok = defined $got && length($got) == length($want) && $got eq $want;
    ok $ok, $name;
    diag sprintf 'got %d bytes, want %d', length($got // ''), length $want unless $ok;
    return $ok;
}

sub data_of {
    my ($r) = @_;
    return ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' ? $r->{json}{data} : [];
}

sub names_of { [ sort map { $_->{name} } @{ data_of($_[0]) } ] }

# The envelope of a write without items/limit/offset, with the date masked.
sub masked {
    my ($r) = @_;
    my $c = canon($r) // '';
    $c =~ s/"date":"[^"]*"/"date":"<DATE>"/;
    return $c;
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s   = BilldTest->start(engine => $engine);
        my %A   = (session => $s->admin_session);
        my $ua  = $s->register('alice', 'alice-password');
        my $ub  = $s->register('bob', 'bob-password');
        my %U   = (session => $s->login('alice', 'alice-password'));
        my %V   = (session => $s->login('bob', 'bob-password'));
        my ($a_id, $b_id) = ($ua->{user_id}, $ub->{user_id});
        my ($usi_a, $usi_b) = (501, 502);
        $s->sql("INSERT INTO user_services (user_service_id, user_id, service_id, created)"
              . " VALUES ($usi_a, $a_id, 1, 0), ($usi_b, $b_id, 1, 0)");

        subtest 'golden 39-46: put, duplicate, get, JSON, missing, delete' => sub {
            my $r = $s->req(PUT => '/shm/v1/storage/manage/golden_key', %U,
                body => 'hello golden storage', type => 'text/plain');
            is $r->{status}, 200, 'put: 200';
            is $r->{body}, '{"length":20,"result":"successful"}', 'put: SHM result, bare';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'put: text/plain';

            $r = $s->req(PUT => '/shm/v1/storage/manage/golden_key', %U,
                body => 'hello golden storage', type => 'text/plain');
            is $r->{status}, 400, 'duplicate: 400';
            is canon($r), $EXISTS, 'duplicate: SHM error';

            $r = $s->req(GET => '/shm/v1/storage/manage/golden_key', %U);
            is $r->{status}, 200, 'get: 200';
            is $r->{body}, 'hello golden storage', 'get: the raw data';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'get: text/plain';
            is $r->{headers}{'x-content-type-options'}, 'nosniff', 'get: nosniff';
            ok !exists $r->{headers}{'content-disposition'}, 'get: no attachment';

            $r = $s->req(PUT => '/shm/v1/storage/manage/golden_json', %U,
                body => '{"a": 1, "b": [1, 2]}', type => 'application/json');
            is $r->{body}, '{"length":21,"result":"successful"}', 'JSON put: length 21';
            $r = $s->req(GET => '/shm/v1/storage/manage/golden_json', %U);
            is $r->{body}, '{"a": 1, "b": [1, 2]}', 'JSON get: the JSON text as sent';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'JSON get: text/plain (golden 43)';

            $r = $s->req(GET => '/shm/v1/storage/manage', %U);
            is $r->{status}, 200, 'list: 200';
            my %by = map { $_->{name} => $_ } @{ data_of($r) };
            is_deeply [ sort keys %by ], [qw(golden_json golden_key)], 'list: both entries';
            is_deeply [ sort keys %{ $by{golden_json} || {} } ],
              [qw(created name settings user_id user_service_id)], 'list: columns, no data';
            is jenc($r, 'items'), '2', 'list: items';
            my ($j) = grep { $_->{name} eq 'golden_json' } @{ data_of($r) };
            like $j->{created}, qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'list: created is a local time';
            is $j->{user_id}, $a_id, 'list: user_id';
            ok !defined $j->{user_service_id}, 'list: no link';
            my $i = 0;
            my %idx = map { $_->{name} => $i++ } @{ data_of($r) };
            is jenc($r, 'data', $idx{golden_json}, 'settings'), '{"json":1}', 'list: JSON flagged';
            is jenc($r, 'data', $idx{golden_key}, 'settings'), '{}', 'list: text not flagged';
            $r = $s->req(GET => '/shm/v1/storage/manage', %U, query => { fields => 'data,name' });
            is_deeply [ map { [ sort keys %$_ ] } @{ data_of($r) } ], [ ['name'], ['name'] ],
              'fields=data: data is never listed';
            $r = $s->req(GET => '/shm/v1/storage/manage', %U, query => { filter => '{"data":"x"}' });
            is canon($r), '{"error":"Unknown filter field: data","status":400}', 'filter on data: 400';

            $r = $s->req(GET => '/shm/v1/storage/manage/no_such_key', %U);
            is $r->{status}, 200, 'missing: 200';
            is $r->{body}, '', 'missing: empty body';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'missing: text/plain';

            $r = $s->req(DELETE => '/shm/v1/storage/manage', %U, query => { name => 'golden_key' });
            is $r->{status}, 200, 'delete ?name=: 200';
            is masked($r), '{"TZ":"UTC","data":[null],"date":"<DATE>","status":200}',
              'delete: SHM envelope with [null]';
            $r = $s->req(GET => '/shm/v1/storage/manage/golden_key', %U);
            is $r->{body}, '', 'deleted: reads empty';
            $r = $s->req(DELETE => '/shm/v1/storage/manage', %U, query => { name => 'golden_key' });
            is $r->{status}, 404, 'delete again: 404';
            is canon($r), $NOT_FOUND, 'delete again: body';
            $r = $s->req(DELETE => '/shm/v1/storage/manage/golden_json', %U);
            is masked($r), '{"TZ":"UTC","data":[null],"date":"<DATE>","status":200}',
              'delete by path: [null]';
            $r = $s->req(DELETE => '/shm/v1/storage/manage', %U);
            is canon($r), '{"error":"Field required: name","status":400}', 'delete without name: 400';
        };

        subtest 'binary-safe round trips and downloads' => sub {
            my $r = $s->req(PUT => '/shm/v1/storage/manage/bytes', %U, body => $ALL_BYTES,
                type => 'application/octet-stream');
            is $r->{body}, '{"length":512,"result":"successful"}', 'all 256 byte values: stored';
            $r = $s->req(GET => '/shm/v1/storage/manage/bytes', %U);
            same_bytes $r->{body}, $ALL_BYTES, 'manage: the same 512 bytes';
            is $r->{headers}{'content-length'}, 512, 'manage: Content-Length';

            $r = $s->req(GET => '/shm/v1/storage/download/bytes', %U);
            is $r->{status}, 200, 'download: 200';
            same_bytes $r->{body}, $ALL_BYTES, 'download: the same 512 bytes';
            is $r->{headers}{'content-type'}, $CT_BYTES, 'download: octet-stream';
            is $r->{headers}{'content-disposition'}, 'attachment; filename="bytes"',
              'download: attachment named after the entry';
            is $r->{headers}{'x-content-type-options'}, 'nosniff', 'download: nosniff';
            is $r->{headers}{'cache-control'}, 'no-store', 'download: not cached';

            # invalid UTF-8 with a JSON content type: stored raw, not flagged
            my $bad = "{\"a\":\"\xff\"}";
            $r = $s->req(PUT => '/shm/v1/storage/manage/bad_json', %U, body => $bad,
                type => 'application/json');
            is $r->{body}, '{"length":9,"result":"successful"}', 'invalid JSON: stored';
            $r = $s->req(GET => '/shm/v1/storage/download/bad_json', %U);
            same_bytes $r->{body}, $bad, 'invalid JSON: bytes back';
            is $r->{headers}{'content-type'}, $CT_BYTES, 'invalid JSON: octet-stream';

            $r = $s->req(PUT => '/shm/v1/storage/manage/sub.json', %U, body => '[1,{"x":null}]',
                type => 'Application/JSON; charset=utf-8');
            $r = $s->req(GET => '/shm/v1/storage/download/sub.json', %U);
            is $r->{body}, '[1,{"x":null}]', 'JSON download: the text';
            is $r->{headers}{'content-type'}, $CT_JSON, 'JSON download: application/json';
            is $r->{headers}{'content-disposition'}, 'attachment; filename="sub.json"',
              'JSON download: file name';

            # JSON text without a JSON content type is not flagged
            $s->req(PUT => '/shm/v1/storage/manage/plain_json', %U, body => '{"a":1}',
                type => 'text/plain');
            $r = $s->req(GET => '/shm/v1/storage/download/plain_json', %U);
            is $r->{headers}{'content-type'}, $CT_BYTES, 'JSON sent as text/plain: not flagged';

            $r = $s->req(PUT => '/shm/v1/storage/manage/empty', %U, body => '', type => 'text/plain');
            is $r->{body}, '{"length":0,"result":"successful"}', 'empty body: stored';
            $r = $s->req(GET => '/shm/v1/storage/download/empty', %U);
            is $r->{status}, 200, 'empty: download 200';
            is $r->{body}, '', 'empty: no bytes';
            is $r->{headers}{'content-disposition'}, 'attachment; filename="empty"', 'empty: attachment';

            $r = $s->req(GET => '/shm/v1/storage/download/nothing_here', %U);
            is $r->{status}, 404, 'download of a missing entry: 404';
            is canon($r), $NOT_FOUND, 'download missing: body';
        };

        subtest 'large bodies: 10 MiB round trip, 16 MiB accepted, 17 MiB refused' => sub {
            my $r = $s->req(PUT => '/shm/v1/storage/manage/big', %U, body => $BIG,
                type => 'application/octet-stream');
            is $r->{status}, 200, '10 MiB: 200';
            is jenc($r, 'length'), length($BIG), '10 MiB: length';
            $r = $s->req(GET => '/shm/v1/storage/manage/big', %U);
            same_bytes $r->{body}, $BIG, '10 MiB: manage returns the same bytes';
            $r = $s->req(GET => '/shm/v1/storage/download/big', %U);
            same_bytes $r->{body}, $BIG, '10 MiB: download returns the same bytes';

            my $max = 'm' x (16 * 1024 * 1024);
            $r = $s->req(PUT => '/shm/v1/storage/manage/max', %U, body => $max, type => 'text/plain');
            is $r->{body}, '{"length":16777216,"result":"successful"}', '16 MiB: accepted';

            $r = $s->req(PUT => '/shm/v1/storage/manage/too_big', %U, body => 'x' x (17 * 1024 * 1024),
                type => 'text/plain');
            is $r->{status}, 413, '17 MiB: 413';
            is jenc($r, 'status'), '413', '17 MiB: JSON error';
            $r = $s->req(POST => '/shm/v1/storage/manage/big', %U, body => 'y' x (17 * 1024 * 1024),
                type => 'text/plain');
            is $r->{status}, 413, '17 MiB replace: 413';
            $r = $s->req(GET => '/shm/v1/storage/manage/too_big', %U);
            is $r->{body}, '', '17 MiB: nothing stored';
            $r = $s->req(GET => '/shm/v1/storage/manage/big', %U);
            same_bytes $r->{body}, $BIG, '17 MiB replace: old data kept';
            $s->req(DELETE => "/shm/v1/storage/manage/$_", %U) for qw(big max);
        };

        subtest 'replace (POST)' => sub {
            my $r = $s->req(POST => '/shm/v1/storage/manage/nope', %U, body => 'x', type => 'text/plain');
            is $r->{status}, 404, 'replace missing: 404';
            is canon($r), $NOT_FOUND, 'replace missing: body';

            $s->req(PUT => '/shm/v1/storage/manage/cfg', %U, body => 'v1', type => 'text/plain',
                query => { user_service_id => $usi_a });
            $r = $s->req(POST => '/shm/v1/storage/manage/cfg', %U, body => '{"v":2}',
                type => 'application/json');
            is $r->{status}, 200, 'replace: 200';
            is $r->{body}, '{"length":7,"result":"successful"}', 'replace: SHM result';
            is $r->{headers}{'content-type'}, $CT_PLAIN, 'replace: text/plain';
            $r = $s->req(GET => '/shm/v1/storage/manage/cfg', %U);
            is $r->{body}, '{"v":2}', 'replace: new data';
            $r = $s->req(GET => '/shm/v1/storage/manage', %U, query => { filter => '{"name":"cfg"}' });
            is jenc($r, 'data', 0, 'settings'), '{"json":1}', 'replace with JSON: flagged';
            is jenc($r, 'data', 0, 'user_service_id'), $usi_a, 'replace: link kept';

            $r = $s->req(POST => '/shm/v1/storage/manage/cfg', %U, body => "v3\x00",
                type => 'text/plain', query => { user_service_id => '' });
            $r = $s->req(GET => '/shm/v1/storage/manage', %U, query => { filter => '{"name":"cfg"}' });
            is jenc($r, 'data', 0, 'settings'), '{}', 'replace with text: flag removed';
            is jenc($r, 'data', 0, 'user_service_id'), 'null', 'empty user_service_id: unlinked';
            $r = $s->req(GET => '/shm/v1/storage/manage/cfg', %U);
            is $r->{body}, "v3\x00", 'replace: bytes with NUL';
        };

        subtest 'per-user namespaces (the "done when" scenario)' => sub {
            my $r = $s->req(PUT => '/shm/v1/storage/manage/my_vpn_key', %U, body => $KEY_A,
                type => 'application/octet-stream', query => { user_service_id => $usi_a });
            is $r->{status}, 200, 'alice uploads my_vpn_key';
            $r = $s->req(PUT => '/shm/v1/storage/manage/my_vpn_key', %V, body => $KEY_B,
                type => 'application/octet-stream', query => { user_service_id => $usi_b });
            is $r->{status}, 200, 'bob uploads his own my_vpn_key (same name)';
            is jenc($r, 'length'), length($KEY_B), 'bob: length';

            for my $who ([ alice => \%U, $KEY_A ], [ bob => \%V, $KEY_B ]) {
                my ($n, $auth, $bytes) = @$who;
                $r = $s->req(GET => '/shm/v1/storage/manage/my_vpn_key', %$auth);
                same_bytes $r->{body}, $bytes, "$n reads exactly their bytes (manage)";
                $r = $s->req(GET => '/shm/v1/storage/download/my_vpn_key', %$auth);
                same_bytes $r->{body}, $bytes, "$n downloads exactly their bytes";
                is $r->{headers}{'content-disposition'}, 'attachment; filename="my_vpn_key"',
                  "$n: attachment name";
            }

            # alice cannot reach bob's entries, whatever she passes
            $s->req(PUT => '/shm/v1/storage/manage/bob_only', %V, body => 'secret', type => 'text/plain');
            $r = $s->req(GET => '/shm/v1/storage/manage/bob_only', %U);
            is $r->{body}, '', "alice reads bob's name: empty (her namespace)";
            $r = $s->req(GET => '/shm/v1/storage/manage/bob_only', %U, query => { user_id => $b_id });
            is $r->{body}, '', 'user_id is ignored for users';
            $r = $s->req(GET => '/shm/v1/storage/download/bob_only', %U, query => { user_id => $b_id });
            is $r->{status}, 404, 'download with user_id: 404';
            $r = $s->req(GET => '/shm/v1/storage/manage', %U, query => { user_id => $b_id, limit => 100 });
            ok !(grep { $_->{user_id} != $a_id } @{ data_of($r) }), 'alice lists only her entries';
            ok !(grep { $_ eq 'bob_only' } @{ names_of($r) }), "bob's entry not listed";
            $r = $s->req(GET => '/shm/v1/storage/manage', %U,
                query => { filter => qq({"user_id":$b_id}) });
            is jenc($r, 'items'), '0', 'filter on user_id cannot widen the scope';
            $r = $s->req(DELETE => '/shm/v1/storage/manage/bob_only', %U, query => { user_id => $b_id });
            is $r->{status}, 404, "alice deletes bob's name: 404";
            $r = $s->req(DELETE => '/shm/v1/storage/manage', %U,
                query => { name => 'bob_only', user_id => $b_id });
            is $r->{status}, 404, 'delete ?name= with user_id: 404';
            $r = $s->req(POST => '/shm/v1/storage/manage/bob_only', %U, body => 'pwned',
                type => 'text/plain', query => { user_id => $b_id });
            is $r->{status}, 404, "alice replaces bob's name: 404";
            $r = $s->req(POST => '/shm/v1/storage/manage/my_vpn_key', %U, body => $KEY_A,
                type => 'application/octet-stream', query => { user_id => $b_id });
            is $r->{status}, 200, 'alice replaces her own my_vpn_key (user_id dropped)';

            # links must name a user service of the owner (D11)
            $r = $s->req(PUT => '/shm/v1/storage/manage/stolen', %U, body => 'x', type => 'text/plain',
                query => { user_service_id => $usi_b });
            is $r->{status}, 404, "PUT linked to bob's user service: 404";
            is canon($r), $NOT_FOUND, 'foreign link: body';
            $r = $s->req(GET => '/shm/v1/storage/manage/stolen', %U);
            is $r->{body}, '', 'foreign link: nothing stored';
            $r = $s->req(POST => '/shm/v1/storage/manage/my_vpn_key', %U, body => 'x',
                type => 'text/plain', query => { user_service_id => $usi_b });
            is $r->{status}, 404, "replace linked to bob's user service: 404";
            $r = $s->req(PUT => '/shm/v1/storage/manage/ghost', %U, body => 'x', type => 'text/plain',
                query => { user_service_id => 999999 });
            is $r->{status}, 404, 'missing user service: 404';
            $r = $s->req(PUT => '/shm/v1/storage/manage/ghost', %U, body => 'x', type => 'text/plain',
                query => { user_service_id => 'abc' });
            is $r->{status}, 400, 'user_service_id=abc: 400';
            is canon($r), '{"error":"Field user_service_id: expected a positive integer","status":400}',
              'user_service_id=abc: message';

            # bob's data is untouched
            $r = $s->req(GET => '/shm/v1/storage/manage/my_vpn_key', %V);
            same_bytes $r->{body}, $KEY_B, "bob's my_vpn_key unchanged";
            $r = $s->req(GET => '/shm/v1/storage/manage/bob_only', %V);
            is $r->{body}, 'secret', "bob's bob_only unchanged";
            $r = $s->req(GET => '/shm/v1/storage/manage', %V, query => { filter => '{"name":"my_vpn_key"}' });
            is jenc($r, 'data', 0, 'user_service_id'), $usi_b, "bob's link unchanged";

            # the admin reads both
            $r = $s->req(GET => '/shm/v1/admin/storage/manage/my_vpn_key', %A, query => { user_id => $a_id });
            is $r->{status}, 200, 'admin reads alice: 200';
            same_bytes $r->{body}, $KEY_A, "admin gets alice's bytes";
            is $r->{headers}{'content-type'}, $CT_BYTES, 'admin read: octet-stream';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage/my_vpn_key', %A, query => { user_id => $b_id });
            same_bytes $r->{body}, $KEY_B, "admin gets bob's bytes";
            $r = $s->req(GET => '/shm/v1/storage/download/my_vpn_key', %A, query => { user_id => $b_id });
            same_bytes $r->{body}, $KEY_B, 'admin downloads as bob (user_id on a user route)';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage/my_vpn_key', %A);
            is canon($r), '{"error":"Field required: user_id","status":400}', 'admin read needs user_id';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage/my_vpn_key', %A, query => { user_id => 'abc' });
            is canon($r), '{"error":"Field user_id: expected a positive integer","status":400}',
              'admin read: user_id=abc';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage/nothing', %A, query => { user_id => $a_id });
            is canon($r), $NOT_FOUND, 'admin read of a missing entry: 404';
        };

        subtest 'admin lists and writes' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/storage/manage', %A, query => { limit => 0 });
            is $r->{status}, 200, 'admin list: 200';
            my %owners = map { $_->{user_id} => 1 } @{ data_of($r) };
            ok $owners{$a_id} && $owners{$b_id}, "admin list: every user's entries";
            ok !(grep { exists $_->{data} } @{ data_of($r) }), 'admin list: no data';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage', %A, query => { user_id => $b_id });
            is_deeply names_of($r), [qw(bob_only my_vpn_key)], 'admin list with user_id: that user only';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage', %A, query => { user_id => 1 });
            is jenc($r, 'items'), '0', "admin list with the admin's own id: the admin's entries";
            $r = $s->req(GET => '/shm/v1/storage/manage', %A);
            is jenc($r, 'items'), '0', 'GET /storage/manage as admin: own entries only';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage', %U);
            is canon($r), $DENIED, 'user on /admin/storage/manage: 403';
            $r = $s->req(GET => '/shm/v1/admin/storage/manage/my_vpn_key', %U, query => { user_id => $a_id });
            is canon($r), $DENIED, 'user on an admin read: 403';

            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $b_id, name => 'panel', data => { url => 'https://x', n => [ 1, 2 ] },
                    user_service_id => $usi_b });
            is $r->{status}, 200, 'admin create: 200';
            is masked($r), '{"TZ":"UTC","data":[{"length":29,"result":"successful"}],"date":"<DATE>","status":200}',
              'admin create: result envelope';
            $r = $s->req(GET => '/shm/v1/storage/manage/panel', %V);
            is canon($r), '{"n":[1,2],"url":"https://x"}', 'bob reads the structure as JSON text';
            $r = $s->req(GET => '/shm/v1/storage/manage', %V, query => { filter => '{"name":"panel"}' });
            is jenc($r, 'data', 0, 'settings'), '{"json":1}', 'structure: flagged JSON';
            is jenc($r, 'data', 0, 'user_service_id'), $usi_b, 'admin create: linked';

            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $b_id, name => 'panel', data => 'again' });
            is canon($r), $EXISTS, 'admin create duplicate: 400';
            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $a_id, name => 'x', user_service_id => $usi_b });
            is canon($r), $NOT_FOUND, "admin create for alice linked to bob's service: 404";
            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => 999999, name => 'x', data => 'y' });
            is canon($r), $NOT_FOUND, 'admin create for a missing user: 404';
            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A, json => { name => 'x', data => 'y' });
            is canon($r), '{"error":"Field required: user_id","status":400}', 'admin create needs user_id';
            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A, json => { user_id => $b_id, data => 'y' });
            is canon($r), '{"error":"Field required: name","status":400}', 'admin create needs name';
            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $b_id, name => 'n1', data => 5 });
            is canon($r), '{"error":"Field data: expected a string, an object or an array","status":400}',
              'admin create: data must be a string or a structure';
            $r = $s->req(PUT => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $b_id, name => 'n1', settings => 'x' });
            is canon($r), '{"error":"Field settings: expected an object","status":400}',
              'admin create: settings must be an object';

            $r = $s->req(POST => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $b_id, name => 'panel', settings => { note => 'hi', json => 0 } });
            is masked($r), '{"TZ":"UTC","data":[{"result":"successful"}],"date":"<DATE>","status":200}',
              'admin update of settings only: result without length';
            $r = $s->req(GET => '/shm/v1/storage/manage', %V, query => { filter => '{"name":"panel"}' });
            is jenc($r, 'data', 0, 'settings'), '{"json":1,"note":"hi"}',
              'settings replaced, the json flag follows the kept data';
            $r = $s->req(POST => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $b_id, name => 'panel', data => 'plain text', user_service_id => undef });
            is jenc($r, 'data', 0, 'length'), '10', 'admin update of data: length';
            $r = $s->req(GET => '/shm/v1/storage/manage', %V, query => { filter => '{"name":"panel"}' });
            is jenc($r, 'data', 0, 'settings'), '{"note":"hi"}', 'text data: flag removed, other keys kept';
            is jenc($r, 'data', 0, 'user_service_id'), 'null', 'user_service_id null: unlinked';
            $r = $s->req(POST => '/shm/v1/admin/storage/manage', %A,
                json => { user_id => $b_id, name => 'nope', data => 'x' });
            is canon($r), $NOT_FOUND, 'admin update of a missing entry: 404';

            $r = $s->req(POST => '/shm/v1/admin/storage/manage/panel', %A, body => "raw\x00\xff",
                type => 'application/octet-stream', query => { user_id => $b_id });
            is $r->{body}, '{"length":5,"result":"successful"}', 'admin raw replace: result';
            $r = $s->req(GET => '/shm/v1/storage/manage/panel', %V);
            same_bytes $r->{body}, "raw\x00\xff", 'admin raw replace: bob sees the bytes';
            $r = $s->req(POST => '/shm/v1/admin/storage/manage/panel', %A, body => 'x', type => 'text/plain');
            is canon($r), '{"error":"Field required: user_id","status":400}', 'admin raw replace needs user_id';

            # an admin may use the user routes for any user with user_id
            $r = $s->req(PUT => '/shm/v1/storage/manage/by_admin', %A, body => 'from admin',
                type => 'text/plain', query => { user_id => $a_id, user_service_id => $usi_a });
            is $r->{status}, 200, 'admin PUT /storage/manage/* for alice: 200';
            $r = $s->req(GET => '/shm/v1/storage/manage/by_admin', %U);
            is $r->{body}, 'from admin', 'alice sees it';
            $r = $s->req(PUT => '/shm/v1/storage/manage/by_admin', %A, body => 'x',
                type => 'text/plain', query => { user_id => 999999 });
            is canon($r), $NOT_FOUND, 'admin PUT for a missing user: 404';

            # unsuffixed PUT/POST: admins only
            $r = $s->req(PUT => '/shm/v1/storage/manage', %U, json => { name => 'n', data => 'x' });
            is canon($r), $DENIED, 'user PUT /storage/manage: 403';
            $r = $s->req(POST => '/shm/v1/storage/manage', %U, json => { name => 'my_vpn_key', data => 'x' });
            is canon($r), $DENIED, 'user POST /storage/manage: 403';
            $r = $s->req(PUT => '/shm/v1/storage/manage', %A, json => { name => 'mine', data => 'adm' });
            is jenc($r, 'data', 0, 'length'), '3', 'admin PUT /storage/manage: own entry';
            $r = $s->req(GET => '/shm/v1/storage/manage/mine', %A);
            is $r->{body}, 'adm', 'admin reads own entry';

            $r = $s->req(DELETE => '/shm/v1/admin/storage/manage', %A, query => { user_id => $b_id, name => 'panel' });
            is masked($r), '{"TZ":"UTC","data":[null],"date":"<DATE>","status":200}', 'admin delete: [null]';
            $r = $s->req(DELETE => '/shm/v1/admin/storage/manage/bob_only', %A, query => { user_id => $b_id });
            is masked($r), '{"TZ":"UTC","data":[null],"date":"<DATE>","status":200}', 'admin delete by path';
            $r = $s->req(DELETE => '/shm/v1/admin/storage/manage/bob_only', %A, query => { user_id => $b_id });
            is canon($r), $NOT_FOUND, 'admin delete of a missing entry: 404';
            $r = $s->req(DELETE => '/shm/v1/admin/storage/manage', %A, query => { name => 'panel' });
            is canon($r), '{"error":"Field required: user_id","status":400}', 'admin delete needs user_id';
            $r = $s->req(GET => '/shm/v1/storage/manage', %V);
            is_deeply names_of($r), ['my_vpn_key'], "bob's remaining entries";
        };

        subtest 'names' => sub {
            my $n32 = 'a' x 32;
            my $r = $s->req(PUT => "/shm/v1/storage/manage/$n32", %U, body => 'x', type => 'text/plain');
            is $r->{status}, 200, '32 characters: accepted';
            $r = $s->req(PUT => '/shm/v1/storage/manage/' . ('a' x 33), %U, body => 'x', type => 'text/plain');
            is canon($r), '{"error":"Field name: longer than 32 characters","status":400}', '33: 400';
            $r = $s->req(PUT => '/shm/v1/storage/manage/A-Z.a_z@0-9', %U, body => 'x', type => 'text/plain');
            is $r->{status}, 200, 'letters, digits, _ - . @: accepted';
            my $bad = '{"error":"Field name: only letters, digits, \'_\', \'-\', \'.\' and \'@\' are allowed","status":400}';
            for my $p ('a%20b', 'a/b', 'a%22b', 'a%0Ab', "%D0%BA%D0%BB", 'a%5Cb') {
                $r = $s->req(PUT => "/shm/v1/storage/manage/$p", %U, body => 'x', type => 'text/plain');
                is canon($r), $bad, "name $p: 400";
            }
            $r = $s->req(GET => '/shm/v1/storage/download/a%2Fb', %U);
            is canon($r), $bad, 'download of an invalid name: 400';
            $r = $s->req(DELETE => '/shm/v1/storage/manage', %U, query => { name => 'a b' });
            is canon($r), $bad, 'delete ?name= with a space: 400';
            $r = $s->req(PUT => '/shm/v1/storage/manage/..', %U, body => 'x', type => 'text/plain');
            is $r->{status}, 400, 'name "..": 400';
            $r = $s->req(GET => '/shm/v1/storage/manage', %U, query => { filter => '{"name":{"-like":"A-Z%"}}' });
            is_deeply names_of($r), ['A-Z.a_z@0-9'], 'list filter on name (-like)';
        };

        subtest 'dry_run and Test header roll back' => sub {
            my $r = $s->req(PUT => '/shm/v1/storage/manage/dry', %U, body => 'x', type => 'text/plain',
                query => { dry_run => 1 });
            is $r->{body}, '{"length":1,"result":"successful"}', 'dry_run: result';
            $r = $s->req(GET => '/shm/v1/storage/download/dry', %U);
            is $r->{status}, 404, 'dry_run: nothing stored';
            $r = $s->req(DELETE => '/shm/v1/storage/manage/my_vpn_key', %U, headers => { Test => 1 });
            is $r->{status}, 200, 'Test header delete: 200';
            $r = $s->req(GET => '/shm/v1/storage/manage/my_vpn_key', %U);
            same_bytes $r->{body}, $KEY_A, 'Test header: entry still there';
        };

        $s->stop;
    };
}

done_testing;
