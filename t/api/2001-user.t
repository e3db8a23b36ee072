# The caller's own account: GET/POST /user, hidden fields, writable fields, scoping
# (api.md §5.1, §5.3–§5.5, §7.1, §11.2 R28/R29; golden 13, 15, 17).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines canon jenc);

my @USER_KEYS = qw(balance bonus created credit discount dogovor full_name last_login login
  login2 phone user_id);
my @ADMIN_ROW_KEYS = qw(balance block bonus can_overdraft comment create_act created credit
  discount dogovor full_name gid last_login login login2 partner_id password perm_credit phone
  settings type user_id verified);
my $DATE_RE = qr/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

for my $engine (engines()) {
    subtest $engine => sub {
        my $s   = BilldTest->start(engine => $engine);
        my $me  = $s->register('golden_user', 'Secret123');
        my $uid = $me->{user_id};
        my $sid = $s->login('golden_user', 'Secret123');

        subtest 'GET /user' => sub {
            my $r = $s->req(GET => '/shm/v1/user', session => $sid);
            is $r->{status}, 200, 'status 200';
            is $r->{headers}{'content-type'}, 'application/json; charset=utf-8', 'content type';
            is_deeply [ sort keys %{ $r->{json} || {} } ],
              [qw(TZ data date items limit offset status)], 'GET envelope keys';
            is jenc($r, 'TZ'),     '"UTC"', 'TZ';
            is jenc($r, 'items'),  '1',     'items 1';
            is jenc($r, 'limit'),  '25',    'limit 25';
            is jenc($r, 'offset'), '0',     'offset 0';
            is jenc($r, 'status'), '200',   'status 200';
            like $r->{json}{date}, $DATE_RE, 'date';
            is scalar @{ $r->{json}{data} || [] }, 1, 'one row';
            my $u = $r->{json}{data}[0] || {};
            is_deeply [ sort keys %$u ], \@USER_KEYS, 'only the user-visible keys';
            is $u->{login}, 'golden_user', 'login';
            is jenc($r, 'data', 0, 'user_id'), "$uid", 'user_id';
            like $u->{last_login} // '', qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
              'last_login set by the login';
        };

        subtest 'POST /user: only full_name and phone are writable' => sub {
            my $r = $s->req(POST => '/shm/v1/user', session => $sid,
                json => { full_name => 'Golden Danuk', phone => '+100', balance => 1000, gid => 1 });
            is $r->{status}, 200, 'status 200';
            is_deeply [ sort keys %{ $r->{json} || {} } ], [qw(TZ data date status)],
              'POST envelope has only TZ, data, date, status';
            my $u = $r->{json}{data}[0] || {};
            is_deeply [ sort keys %$u ], \@USER_KEYS, 'only the user-visible keys';
            is $u->{full_name}, 'Golden Danuk', 'full_name updated';
            is jenc($r, 'data', 0, 'phone'), '"+100"', 'phone updated (a string)';
            is jenc($r, 'data', 0, 'balance'), '0', 'balance not written';

            $r = $s->req(GET => '/shm/v1/user', session => $sid);
            is $r->{json}{data}[0]{full_name}, 'Golden Danuk', 'full_name persisted';
            is $r->{json}{data}[0]{phone}, '+100', 'phone persisted';
            is jenc($r, 'data', 0, 'balance'), '0', 'balance still 0';

            $r = $s->req(GET => '/shm/v1/admin/user', session => $sid);
            is $r->{status}, 403, 'still not an admin';
            is canon($r), '{"error":"Permission denied","status":403}', '403 body';

            $r = $s->req(GET => '/shm/v1/admin/user', session => $s->admin_session,
                query => { filter => qq({"user_id":$uid}) });
            is $r->{status}, 200, 'admin reads the row';
            is jenc($r, 'data', 0, 'gid'), '0', 'gid unchanged';
            is jenc($r, 'data', 0, 'balance'), '0', 'balance unchanged';
        };

        subtest 'other users are unreachable' => sub {
            my $r = $s->req(GET => '/shm/v1/user', session => $sid, query => { user_id => 1 });
            is $r->{status}, 200, 'status 200';
            is scalar @{ $r->{json}{data} || [] }, 1, 'one row';
            is jenc($r, 'data', 0, 'user_id'), "$uid", 'user_id=1 is ignored: own row';
            is $r->{json}{data}[0]{login}, 'golden_user', 'own login';

            $r = $s->req(POST => '/shm/v1/user', session => $sid,
                json => { user_id => 1, full_name => 'Hacked' });
            is $r->{status}, 200, 'POST with user_id=1: 200';
            is jenc($r, 'data', 0, 'user_id'), "$uid", 'POST with user_id=1 updates own row';
            $r = $s->req(GET => '/shm/v1/user', basic => [ 'admin', BilldTest::ADMIN_PASSWORD ]);
            isnt $r->{json}{data}[0]{full_name}, 'Hacked', "admin's row untouched";
        };

        subtest 'admin calling GET /user' => sub {
            my $r = $s->req(GET => '/shm/v1/user', basic => [ 'admin', BilldTest::ADMIN_PASSWORD ]);
            is $r->{status}, 200, 'status 200';
            is scalar @{ $r->{json}{data} || [] }, 1, 'only his own row';
            my $u = $r->{json}{data}[0] || {};
            is jenc($r, 'data', 0, 'user_id'), '1', 'user 1';
            is $u->{login}, 'admin', 'login admin';
            is jenc($r, 'data', 0, 'gid'), '1', 'gid 1 visible';
            ok exists $u->{password}, 'password key present (hidden fields visible to admins)';
            ok exists $u->{settings}, 'settings key present';
            is_deeply [ grep { !exists $u->{$_} } @ADMIN_ROW_KEYS ], [], 'all SHM user columns present';
            isnt $u->{password}, BilldTest::ADMIN_PASSWORD, 'the password is not stored in clear';
        };

        subtest 'partner at registration, GET /user/referrals (other.md §6, R31)' => sub {
            my $reg = sub {
                my ($login, %o) = @_;
                my $r = $s->req(PUT => '/shm/v1/user', %o,
                    json => { login => $login, password => 'Secret123', %{ $o{args} || {} } });
                is $r->{status}, 200, "register $login: 200";
                my ($pid) = $s->sql("SELECT COALESCE(partner_id, 0) FROM users WHERE login = '$login'");
                return $pid;
            };
            is $reg->('ref_arg', args => { partner_id => $uid }), $uid, 'partner_id argument';
            is $reg->('ref_str', args => { partner_id => "$uid" }), $uid, 'partner_id as a string';
            is $reg->('ref_cookie', cookie => "lang=ru; partner_id=$uid"), $uid, 'partner_id cookie';
            is $reg->('ref_both', args => { partner_id => 1 }, cookie => "partner_id=$uid"), 1,
              'the argument wins over the cookie';
            is $reg->('ref_ghost', args => { partner_id => 999999 }), 0, 'an unknown partner is ignored';
            is $reg->('ref_bad', args => { partner_id => 'x' }), 0, 'a non-number is ignored';
            is $reg->('ref_none'), 0, 'no partner';

            my $r = $s->req(GET => '/shm/v1/user/referrals', session => $sid);
            is $r->{status}, 200, 'referrals: 200';
            is_deeply $r->{json}{data}, [ { total => 3 } ], 'three users name me as partner';
            my $other = $s->login('ref_none', 'Secret123');
            $r = $s->req(GET => '/shm/v1/user/referrals', session => $other);
            is_deeply $r->{json}{data}, [ { total => 0 } ], 'none for a user without referrals';
            is $s->req(GET => '/shm/v1/user/referrals')->{status}, 401, 'needs a session';
        };

        $s->stop;
    };
}

done_testing;
