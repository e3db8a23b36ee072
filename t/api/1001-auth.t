# Registration, password login, every credential carrier, authentication failures, blocked
# users, the legacy auth.cgi/logout.cgi pair, password change and the rate limits
# (api.md §4, §5.2, §8, §10, §11.1 R9/R10, §11.2 R30, §12 L1/L2; DECISIONS D17, D18;
# golden 05, 07, 09, 11, 13, 55, 61, 63).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use MIME::Base64 qw(encode_base64);
use BilldTest qw(engines canon jenc);

my @USER_KEYS = qw(balance bonus created credit discount dogovor full_name last_login login
  login2 phone user_id);
my $SID_RE       = qr/^[A-Za-z0-9]{32,}$/;
my $DT_RE        = qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
my $NOT_AUTH     = '{"msg":"Not authorized","status":401}';
my $BAD_PASSWORD = '{"error":"Incorrect login or password","status":401}';
my $ADMIN_PW     = BilldTest::ADMIN_PASSWORD;

sub me_login {
    my ($r) = @_;
    return ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY' && ref $r->{json}{data}[0] eq 'HASH'
      ? $r->{json}{data}[0]{login} : undef;
}

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine);
        my $uid;

        subtest 'registration' => sub {
            my $r = $s->req(PUT => '/shm/v1/user', json => { login => 'Golden_New', password => 'Secret123' });
            is $r->{status}, 200, 'status 200';
            is_deeply [ sort keys %{ $r->{json} || {} } ], [qw(TZ data date status)], 'PUT envelope keys';
            my $u = $r->{json}{data}[0] || {};
            is_deeply [ sort keys %$u ], \@USER_KEYS, 'exactly the user-visible keys';
            is $u->{login}, 'golden_new', 'login lower-cased';
            like jenc($r, 'data', 0, 'user_id') // '', qr/^[1-9]\d*$/, 'user_id is an integer';
            $uid = $u->{user_id};
            like $u->{created} // '', $DT_RE, 'created is a date string';
            is jenc($r, 'data', 0, $_), '0', "$_ is 0" for qw(balance bonus credit discount);
            is jenc($r, 'data', 0, $_), 'null', "$_ is null"
              for qw(dogovor full_name last_login login2 phone);

            $r = $s->req(PUT => '/shm/v1/user', json => { login => 'Golden_New', password => 'Secret123' });
            is $r->{status}, 409, 'duplicate: 409';
            is canon($r), '{"error":"Login already in use","status":409}', 'duplicate: body';

            $r = $s->req(PUT => '/shm/v1/user', json => { login => 'nopass' });
            is $r->{status}, 400, 'missing password: 400';
            is canon($r), '{"error":"Field required: password","status":400}', 'missing password: body';

            $r = $s->req(PUT => '/shm/v1/user', json => { login => 'shortpw', password => 'Short1' });
            is $r->{status}, 400, 'password shorter than 8: 400';
            like $r->{json}{error} // '', qr/\S/, 'short password: error message';
            is jenc($r, 'status'), '400', 'short password: JSON status';

            $r = $s->req(PUT => '/shm/v1/user', json => { login => 'a b', password => 'Secret123' });
            is $r->{status}, 400, 'login with a space: 400';
            like $r->{json}{error} // '', qr/\S/, 'bad login: error message';
        };

        my $sid;
        subtest 'password login' => sub {
            my $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'golden_new', password => 'Secret123' });
            is $r->{status}, 200, 'JSON: 200';
            is_deeply [ sort keys %{ $r->{json} || {} } ], ['id'], 'JSON: body is exactly {"id":...}';
            like $r->{json}{id} // '', $SID_RE, 'JSON: session id';
            ok !exists $r->{headers}{'set-cookie'}, 'JSON: no cookie';
            $sid = $r->{json}{id};

            $r = $s->req(POST => '/shm/v1/user/auth', form => { login => 'golden_new', password => 'Secret123' });
            is $r->{status}, 200, 'form: 200';
            is_deeply [ sort keys %{ $r->{json} || {} } ], ['id'], 'form: body is exactly {"id":...}';
            like $r->{json}{id} // '', $SID_RE, 'form: session id';
            isnt $r->{json}{id}, $sid, 'a new session per login';

            $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'golden_new', password => 'Wrong1234' });
            is $r->{status}, 401, 'wrong password: 401';
            is canon($r), $BAD_PASSWORD, 'wrong password: body';

            $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'golden_new' });
            is $r->{status}, 400, 'no password: 400';
            is canon($r), '{"error":"Field required: password","status":400}', 'no password: body';
        };

        subtest 'credential carriers' => sub {
            my %carriers = (
                'header session-id' => { session => $sid },
                'header session_id' => { headers => { session_id => $sid } },
                'query session_id'  => { query => { session_id => $sid } },
                'cookie session_id' => { cookie => "session_id=$sid" },
                'Basic'             => { basic => [ 'golden_new', 'Secret123' ] },
                'login/password headers' => { login => [ 'golden_new', 'Secret123' ] },
                'Basic, login in upper case' => { basic => [ 'GOLDEN_NEW', 'Secret123' ] },
            );
            for my $name (sort keys %carriers) {
                my $r = $s->req(GET => '/shm/v1/user', %{ $carriers{$name} });
                is $r->{status}, 200, "$name: 200";
                is me_login($r), 'golden_new', "$name: the user's row";
            }
        };

        subtest 'authentication failures' => sub {
            my $r = $s->req(GET => '/shm/v1/user');
            is $r->{status}, 401, 'no credentials: 401';
            is canon($r), $NOT_AUTH, 'no credentials: body';

            $r = $s->req(GET => '/shm/v1/user', session => 'deadbeefdeadbeefdeadbeefdeadbeef');
            is $r->{status}, 401, 'unknown session: 401';
            is canon($r), $NOT_AUTH, 'unknown session: body';

            $r = $s->req(GET => '/shm/v1/user', basic => [ 'admin', 'nope' ]);
            is $r->{status}, 401, 'wrong Basic: 401';
            is canon($r), $BAD_PASSWORD, 'wrong Basic: body';
            is $r->{headers}{error}, 'Incorrect login or password', 'wrong Basic: Error header';

            $r = $s->req(GET => '/shm/v1/user', login => [ 'golden_new', 'Wrong1234' ]);
            is $r->{status}, 401, 'wrong password in login/password headers: 401';
            is canon($r), $BAD_PASSWORD, 'wrong password in login/password headers: body';
            is $r->{headers}{error}, 'Incorrect login or password', 'login headers: Error header';

            # golden 11 uses PUT /admin/user/payment (billing issue); here an admin
            # route that exists already, with an unknown login
            $r = $s->req(PUT => '/shm/v1/admin/user', login => [ 'foo', 'bar' ],
                headers => { 'Content-Type' => 'application/json' });
            is $r->{status}, 401, 'wrong login/password headers: 401';
            is canon($r), $BAD_PASSWORD, 'wrong login/password headers: body';
            is $r->{headers}{error}, 'Incorrect login or password', 'wrong headers: Error header';
        };

        subtest 'blocked user' => sub {
            my $u = $s->register('blockme', 'Password1');
            my $bsid = $s->login('blockme', 'Password1');
            is me_login($s->req(GET => '/shm/v1/user', session => $bsid)), 'blockme', 'session works before';

            my $r = $s->req(POST => '/shm/v1/admin/user', session => $s->admin_session,
                json => { user_id => $u->{user_id}, block => 1 });
            is $r->{status}, 200, 'admin blocks the user';
            is jenc($r, 'data', 0, 'block'), '1', 'block is 1';

            $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'blockme', password => 'Password1' });
            is $r->{status}, 401, 'password login of a blocked user: 401';
            is canon($r), $BAD_PASSWORD, 'password login of a blocked user: body';

            $r = $s->req(GET => '/shm/v1/user', login => [ 'blockme', 'Password1' ]);
            is $r->{status}, 401, 'login headers of a blocked user: 401';
            is canon($r), $BAD_PASSWORD, 'login headers of a blocked user: body';

            $r = $s->req(GET => '/shm/v1/user', session => $bsid);
            is $r->{status}, 401, 'the existing session was deleted by blocking';
            is canon($r), $NOT_AUTH, 'blocked session: body';
        };

        subtest 'legacy auth.cgi / logout.cgi' => sub {
            my $r = $s->req(POST => '/shm/user/auth.cgi',
                form => { login => 'admin', password => $ADMIN_PW, admin => 1 });
            is $r->{status}, 200, 'auth.cgi: 200';
            my $lsid = $r->{json}{session_id} // '';
            like $lsid, $SID_RE, 'auth.cgi: session id';
            is canon($r), qq({"msg":"Successfully","session_id":"$lsid","status":200,"user_id":1}),
              'auth.cgi: body';
            my $cookie = $r->{headers}{'set-cookie'} // '';
            like $cookie, qr/(?:^|[;,]\s*)session_id=\Q$lsid\E(?:;|$)/, 'cookie carries the session';
            like $cookie, qr/;\s*HttpOnly\b/i,    'cookie is HttpOnly (D18)';
            like $cookie, qr/;\s*SameSite=Lax\b/i, 'cookie is SameSite=Lax (D18)';

            $r = $s->req(POST => '/shm/user/auth.cgi',
                form => { login => 'golden_new', password => 'Secret123', admin => 1 });
            is $r->{status}, 403, 'admin=1 for a non-admin: 403';
            ok defined $r->{json}{msg}, 'admin=1 for a non-admin: body carries msg';
            ok !exists $r->{headers}{'set-cookie'}, 'admin=1 for a non-admin: no cookie';

            $r = $s->req(GET => '/shm/v1/user', cookie => "session_id=$lsid");
            is $r->{status}, 200, 'the cookie authenticates';
            is me_login($r), 'admin', 'as admin';

            $r = $s->req(GET => '/shm/user/logout.cgi', cookie => "session_id=$lsid");
            is $r->{status}, 200, 'logout.cgi: 200';
            is canon($r), '{"msg":"Logout sucessfully","status":0}', 'logout.cgi: body';

            $r = $s->req(GET => '/shm/v1/user', cookie => "session_id=$lsid");
            is $r->{status}, 401, 'the session is dead after logout';
            is canon($r), $NOT_AUTH, 'dead session: body';
        };

        subtest 'password change' => sub {
            my $psid = $s->login('golden_new', 'Secret123');
            # Warm any credential cache with the old password first.
            is $s->req(GET => '/shm/v1/user', basic => [ 'golden_new', 'Secret123' ])->{status}, 200,
              'old password works before';

            my $r = $s->req(POST => '/shm/v1/user/passwd', session => $psid,
                json => { password => 'NewSecret456' });
            is $r->{status}, 200, 'passwd: 200';
            is $r->{json}{data}[0]{login}, 'golden_new', 'passwd: the user row';
            ok !exists $r->{json}{data}[0]{password}, 'passwd: no password in the answer';

            $r = $s->req(GET => '/shm/v1/user', basic => [ 'golden_new', 'Secret123' ]);
            is $r->{status}, 401, 'old password rejected at once (no stale credential cache)';
            is canon($r), $BAD_PASSWORD, 'old password: body';

            $r = $s->req(GET => '/shm/v1/user', basic => [ 'golden_new', 'NewSecret456' ]);
            is $r->{status}, 200, 'new password works';
            is me_login($r), 'golden_new', 'new password: the user row';

            for my $old ($psid, $sid) {
                $r = $s->req(GET => '/shm/v1/user', session => $old);
                is $r->{status}, 401, 'sessions are deleted on password change';
                is canon($r), $NOT_AUTH, 'old session: body';
            }
        };

        subtest 'login rate limit' => sub {
            my $ip = { 'X-Real-IP' => '203.0.113.7' };
            for my $i (1 .. 5) {
                my $r = $s->req(POST => '/shm/v1/user/auth', headers => $ip,
                    json => { login => 'golden_new', password => "Wrong$i-pass" });
                is $r->{status}, 401, "failed attempt $i: 401";
            }
            my $r = $s->req(POST => '/shm/v1/user/auth', headers => $ip,
                json => { login => 'golden_new', password => 'NewSecret456' });
            is $r->{status}, 429, '6th attempt, right password: 429';
            is canon($r), '{"error":"429 Too Many Requests","ip":"203.0.113.7","status":429}',
              '429 body';

            $r = $s->req(POST => '/shm/v1/user/auth', headers => { 'X-Real-IP' => '203.0.113.8' },
                json => { login => 'golden_new', password => 'NewSecret456' });
            is $r->{status}, 200, 'another IP still logs in';
            like $r->{json}{id} // '', $SID_RE, 'another IP: session id';

            for my $i (1 .. 7) {
                $r = $s->req(POST => '/shm/v1/user/auth',
                    json => { login => 'golden_new', password => "Wrong$i-pass" });
                is $r->{status}, 401, "loopback failed attempt $i: 401 (never limited)";
            }
            $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'golden_new', password => 'NewSecret456' });
            is $r->{status}, 200, 'loopback without X-Real-IP is exempt';
        };

        subtest 'registration rate limit' => sub {
            my $ip = { 'X-Real-IP' => '203.0.113.9' };
            for my $i (1 .. 5) {
                my $r = $s->req(PUT => '/shm/v1/user', headers => $ip,
                    json => { login => "rl_user$i", password => 'Secret123' });
                is $r->{status}, 200, "registration $i: 200";
            }
            my $r = $s->req(PUT => '/shm/v1/user', headers => $ip,
                json => { login => 'rl_user6', password => 'Secret123' });
            is $r->{status}, 429, '6th registration: 429';
            is canon($r), '{"error":"429 Too Many Requests","ip":"203.0.113.9","status":429}',
              '429 body';
            $r = $s->req(POST => '/shm/v1/user/auth', json => { login => 'rl_user6', password => 'Secret123' });
            is $r->{status}, 401, 'the refused registration created nothing';
        };

        $s->stop;
    };
}

done_testing;
