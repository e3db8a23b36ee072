# Admin user management: create/list/filter/sort/update/dry_run/search/passwd/session/delete
# (api.md §5.1, §5.3, §6.2, §7.1, §9, §11.5 R79, §11.6 R92–R97 and the session route;
# DECISIONS D17, D24, D26; golden 17, 19, 57).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);

my $SID_RE = qr/^[A-Za-z0-9]{32,}$/;

sub ids {
    my ($r) = @_;
    return [ map { $_->{user_id} } @{ ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' ? $r->{json}{data} : [] } ];
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s   = BilldTest->start(engine => $engine);
        my $adm = $s->admin_session;
        my %A   = (session => $adm);
        my %uid;

        subtest 'create users' => sub {
            for my $login (qw(u1 u2 u3 u4)) {
                my $r = $s->req(PUT => '/shm/v1/admin/user', %A,
                    json => { login => $login, password => 'Password1' });
                is $r->{status}, 200, "$login: 200";
                my $u = $r->{json}{data}[0] || {};
                is $u->{login}, $login, "$login: login";
                like jenc($r, 'data', 0, 'user_id') // '', qr/^[1-9]\d*$/, "$login: integer user_id";
                isnt $u->{password}, 'Password1', "$login: password not stored in clear (Q3 not copied)";
                like $u->{password} // '', qr/^\$argon2id\$/, "$login: argon2id hash (D17)";
                $uid{$login} = $u->{user_id};
            }
            like $s->login('u1', 'Password1'), $SID_RE, 'u1 logs in with its password';

            my $r = $s->req(PUT => '/shm/v1/admin/user', %A, json => { password => 'Password1' });
            is $r->{status}, 400, 'missing login: 400';
            is canon($r), '{"error":"Field required: login","status":400}', 'missing login: body';

            $r = $s->req(POST => '/shm/v1/admin/user', %A, json => { user_id => $uid{u4}, block => 1 });
            is $r->{status}, 200, 'u4 blocked';
        };
        my @all = sort { $a <=> $b } (1, @uid{qw(u1 u2 u3)});    # the non-blocked users

        subtest 'list' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/user', %A);
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'items'), scalar(@all), 'items = number of non-blocked users';
            is_deeply ids($r), [ reverse @all ], 'all non-blocked users, primary key descending';
            is jenc($r, 'limit'),  '25', 'limit default (number)';
            is jenc($r, 'offset'), '0',  'offset default (number)';
            ok exists $r->{json}{data}[0]{password}, 'admin lists show hidden fields';

            $r = $s->req(GET => '/shm/v1/admin/user', %A,
                query => { limit => 2, offset => 1, sort_field => 'user_id', sort_direction => 'asc' });
            is $r->{status}, 200, 'page: 200';
            is_deeply ids($r), [ @all[ 1, 2 ] ], 'page: the 2nd and 3rd users';
            is jenc($r, 'limit'),  '"2"', 'page: limit echoed as a string';
            is jenc($r, 'offset'), '"1"', 'page: offset echoed as a string';
            is jenc($r, 'items'), scalar(@all), 'page: items is the total (D24)';

            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { sort_field => 'nope' });
            is $r->{status}, 200, 'unknown sort_field: no error';
            is_deeply ids($r), [ reverse @all ], 'unknown sort_field: primary key descending';

            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { limit => 'abc' });
            is $r->{status}, 400, 'limit=abc: 400';
            is jenc($r, 'status'), '400', 'limit=abc: JSON status';
        };

        subtest 'filter' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => '{"login":"u1"}' });
            is $r->{status}, 200, 'exact: 200';
            is_deeply ids($r), [ $uid{u1} ], 'exact: one row';
            is jenc($r, 'filter'), '{"login":"u1"}', 'exact: filter echoed';
            is jenc($r, 'items'), '1', 'exact: items 1';

            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => '{"login":"u%"}' });
            is_deeply ids($r), [ reverse @uid{qw(u1 u2 u3)} ], 'LIKE: u1..u3 (blocked u4 hidden)';

            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => '{"block":1}' });
            is_deeply ids($r), [ $uid{u4} ], 'filtering on block shows the blocked user';

            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => q({"login":"x' OR '1'='1"}) });
            is $r->{status}, 200, 'injection attempt: 200';
            is_deeply ids($r), [], 'injection attempt: no rows';
            is jenc($r, 'items'), '0', 'injection attempt: items 0';

            for my $bad ('{"nope":1}', '{"--login":"u1"}', '{"login":') {
                $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => $bad });
                is $r->{status}, 400, "filter $bad: 400 (D26)";
                is jenc($r, 'status'), '400', "filter $bad: JSON status";
                like $r->{json}{error} // '', qr/\S/, "filter $bad: error message";
            }
        };

        subtest 'update' => sub {
            my $u = $uid{u3};
            my $r = $s->req(POST => '/shm/v1/admin/user', %A,
                json => { user_id => $u, full_name => 'X', credit => 100.5 });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data', 0, 'credit'), '100.5', 'credit 100.5';
            is $r->{json}{data}[0]{full_name}, 'X', 'full_name X';
            is_deeply [ sort keys %{ $r->{json} || {} } ], [qw(TZ data date status)], 'POST envelope';

            $r = $s->req(POST => '/shm/v1/admin/user', %A, json => { user_id => 999999, full_name => 'Y' });
            is $r->{status}, 404, 'missing user: 404';
            is canon($r), '{"error":"Object not found. Check the ID.","status":404}', 'missing user: body';

            $r = $s->req(POST => '/shm/v1/admin/user', %A, json => { full_name => 'Y' });
            is $r->{status}, 400, 'no user_id: 400';
            is canon($r), '{"error":"Field required: user_id","status":400}', 'no user_id: body';

            $r = $s->req(POST => '/shm/v1/admin/user', %A,
                json => { user_id => $u, full_name => 'Dry', dry_run => 1 });
            is $r->{status}, 200, 'dry_run: 200';
            is $r->{json}{data}[0]{full_name}, 'Dry', 'dry_run: shows the would-be row';

            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => qq({"user_id":$u}) });
            is $r->{json}{data}[0]{full_name}, 'X', 'dry_run: nothing committed';
            is jenc($r, 'data', 0, 'credit'), '100.5', 'credit persisted';
        };

        subtest 'search' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/user/search', %A, query => { text => 'u1' });
            is $r->{status}, 200, 'status 200';
            is_deeply [ grep { $_ == $uid{u1} } @{ ids($r) } ], [ $uid{u1} ], 'finds u1';
            is_deeply [ map { $_->{login} } @{ $r->{json}{data} || [] } ], ['u1'], 'only u1 matches';
        };

        subtest 'admin sets a password' => sub {
            my $r = $s->req(POST => '/shm/v1/admin/user/passwd', %A,
                json => { user_id => $uid{u2}, password => 'Another123' });
            is $r->{status}, 200, 'status 200';
            like $s->login('u2', 'Another123'), $SID_RE, 'the new password works';
            $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'u2', password => 'Password1' });
            is $r->{status}, 401, 'the old password is refused';
        };

        subtest 'session for a user' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/user/session', %A, json => { user_id => $uid{u2} });
            is $r->{status}, 200, 'status 200';
            is_deeply [ sort keys %{ $r->{json} || {} } ], ['id'], 'body is exactly {"id":...}';
            like $r->{json}{id} // '', $SID_RE, 'session id';
            my $r2 = $s->req(GET => '/shm/v1/user', session => $r->{json}{id});
            is $r2->{status}, 200, 'the session works';
            is jenc($r2, 'data', 0, 'user_id'), "$uid{u2}", "it is u2's session";
        };

        subtest 'admin acting as a user' => sub {
            my $r = $s->req(GET => '/shm/v1/user', basic => [ 'admin', BilldTest::ADMIN_PASSWORD ],
                query => { user_id => $uid{u2} });
            is $r->{status}, 200, 'status 200';
            is jenc($r, 'data', 0, 'user_id'), "$uid{u2}", "u2's row";
            is $r->{json}{data}[0]{login}, 'u2', 'login u2';
        };

        subtest 'delete' => sub {
            my $r = $s->req(DELETE => '/shm/v1/admin/user', %A, query => { user_id => $uid{u2} });
            is $r->{status}, 200, 'status 200';
            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => qq({"user_id":$uid{u2}}) });
            is_deeply ids($r), [], 'u2 is gone';
            $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'u2', password => 'Another123' });
            is $r->{status}, 401, 'u2 cannot log in';

            $r = $s->req(DELETE => '/shm/v1/admin/user', %A, query => { user_id => 1 });
            is $r->{status}, 400, 'deleting an admin: 400';
            is jenc($r, 'status'), '400', 'deleting an admin: JSON status';
            $r = $s->req(GET => '/shm/v1/admin/user', %A, query => { filter => '{"user_id":1}' });
            is_deeply ids($r), [1], 'the admin still exists';
        };

        subtest 'version' => sub {
            my $r = $s->req(GET => '/shm/v1/admin/system/version', %A);
            is $r->{status}, 200, 'status 200';
            is ref $r->{json}, 'HASH', 'a JSON object';
            ok exists $r->{json}{version}, 'has "version"';
        };

        subtest 'non-admin' => sub {
            my $usid = $s->login('u1', 'Password1');
            for my $req ([ GET => '/shm/v1/admin/user' ], [ GET => '/shm/v1/admin/system/version' ]) {
                my $r = $s->req(@$req, session => $usid);
                is $r->{status}, 403, "$req->[1]: 403";
                is canon($r), '{"error":"Permission denied","status":403}', "$req->[1]: body";
            }
            my $r = $s->req(POST => '/shm/v1/admin/user', session => $usid,
                json => { user_id => $uid{u1}, gid => 1 });
            is $r->{status}, 403, 'POST /admin/user as non-admin: 403';
            $r = $s->req(GET => '/shm/v1/admin/user', session => $usid);
            is $r->{status}, 403, 'still not an admin';
        };

        $s->stop;
    };
}

done_testing;
