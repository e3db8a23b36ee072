# Promo codes (other.md §4, api.md R74, R75, R170, R171): generation by an admin (two one-time
# codes with prefix TEST_, a reusable code with quantity 1 usable once — §4.4), application by
# users rendering the code's template with event PROMO and `promo`, every refusal (400), a
# failing template leaving the code unused, and GET /promo showing only public settings.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use BilldTest qw(engines);

sub data { my ($r) = @_; return ref $r->{json} eq 'HASH' ? $r->{json}{data} // [] : [] }

for my $engine (engines()) {
    subtest $engine => sub {
        my $s = BilldTest->start(engine => $engine, env => { TZ => 'UTC' });
        my %A = (session => $s->admin_session);
        my %S;
        for my $login (qw(ann ben)) {
            my $r = $s->req(PUT => '/shm/v1/admin/user', %A,
                json => { login => $login, password => 'Password1' });
            is $r->{status}, 200, "user $login" or diag $r->{body};
            $S{$login} = $s->login($login, 'Password1');
        }
        my $r = $s->req(PUT => '/shm/v1/admin/template', %A, json => { id => 'promo_mark',
            data => "{{ x = storage.save('promo_' _ promo.id, event_name _ ':' _ promo.template_id) }}" });
        is $r->{status}, 200, 'template stored' or diag $r->{body};
        $r = $s->req(PUT => '/shm/v1/admin/template', %A, json => { id => 'promo_fail',
            data => "{{ report.add_error('Not for you') }}" });

        $r = $s->req(PUT => '/shm/v1/admin/promo', %A,
            json => { template_id => 'promo_mark', count => 2, prefix => 'TEST_', length => 6,
                      public => { title => 'Скидка' }, secret => 'S' });
        is $r->{status}, 200, 'generate' or diag $r->{body};
        my @codes = @{ data($r) };
        is scalar @codes, 2, 'two codes';
        like $_, qr/^TEST_[A-Z0-9]{6}$/, "code $_" for @codes;

        my $apply = sub {
            my ($who, $code) = @_;
            my $r = $s->req(GET => "/shm/v1/promo/apply/$code", session => $S{$who});
            return $r->{status} == 200 ? 'ok' : "$r->{status} " . ($r->{json}{error} // $r->{body});
        };
        is $apply->(ann => $codes[0]), 'ok', 'ann applies the first code';
        is_deeply data($s->req(GET => "/shm/v1/promo/apply/$codes[1]", session => $S{ben})),
            [ { used => 'true' } ], 'answer {"used":"true"}';
        $r = $s->req(GET => "/shm/v1/storage/manage/promo_$codes[0]", session => $S{ann});
        is $r->{body}, 'PROMO:promo_mark', 'the template ran for ann with event PROMO and promo';
        is $apply->(ann => $codes[0]), '400 Promo code has already been used', 'not twice';
        is $apply->(ben => $codes[0]), '400 Promo code has already been used', 'nor by another';
        is $apply->(ann => 'NOPE'), '400 Promo code not found', 'unknown code';

        $r = $s->req(PUT => '/shm/v1/admin/promo', %A,
            json => { template_id => 'promo_mark', reusable => 1, code => 'ONCE', quantity => 1 });
        is_deeply data($r), ['ONCE'], 'reusable code with quantity 1';
        is $apply->(ann => 'ONCE'), 'ok', 'used once';
        is $apply->(ben => 'ONCE'), '400 Promo code has no remaining uses', 'then exhausted';
        $s->req(PUT => '/shm/v1/admin/promo', %A,
            json => { template_id => 'promo_mark', reusable => 1, code => 'MANY', quantity => 5 });
        is $apply->(ann => 'MANY'), 'ok', 'reusable: ann';
        is $apply->(ben => 'MANY'), 'ok', 'reusable: ben';
        is $apply->(ann => 'MANY'), '400 Promo code has already been used', 'once per user';
        $r = $s->req(PUT => '/shm/v1/admin/promo', %A,
            json => { template_id => 'promo_mark', reusable => 1, code => 'MANY' });
        is $r->{status}, 400, 'an existing code is not generated again';
        is $r->{json}{error}, 'Promo code MANY exists', 'message';

        my $one = sub { data($s->req(PUT => '/shm/v1/admin/promo', %A, json => { @_ }))->[0] };
        is $apply->(ann => $one->(template_id => 'promo_mark', status => 0)),
            '400 Promo code is not active', 'inactive';
        is $apply->(ann => $one->(template_id => 'promo_mark', expire => '2000-01-01 00:00:00')),
            '400 Promo code has expired', 'expired';
        my $failing = $one->(template_id => 'promo_fail');
        is $apply->(ann => $failing), '400 Not for you', 'the template refuses';
        my ($row) = grep { $_->{promo_code} eq $failing } @{ data($s->req(GET => '/shm/v1/promo', %A)) };
        is $row->{used}, 0, 'and the code stays unused';

        my ($first) = grep { $_->{promo_code} eq $codes[0] } @{ data($s->req(GET => '/shm/v1/promo', %A)) };
        is $first->{used}, 1, 'GET /promo: used';
        ok $first->{used_date}, 'with its date';
        is_deeply $first->{settings}, { public => { title => 'Скидка' } }, 'only public settings';
        is $first->{status}, 1, 'status';
        is $first->{reusable}, 0, 'reusable';
        is_deeply data($s->req(GET => '/shm/v1/promo', session => $S{ann})), [], 'ann created none';
        my @all = map { $_->{id} } @{ data($s->req(GET => '/shm/v1/admin/promo', %A)) };
        ok((grep { $_ eq 'MANY' } @all) == 1, 'admin list: a reusable code once (no usage rows)');

        # updates and deletes (R172–R175)
        my $code = $one->(template_id => 'promo_fail');
        $r = $s->req(POST => "/shm/v1/admin/promo/$code", %A,
            json => { template_id => 'promo_mark', settings => { status => 1, note => 'x' },
                      expire => '2030-01-01 00:00:00' });
        is $r->{status}, 200, 'update' or diag $r->{body};
        my $u = data($r)->[0];
        is_deeply [ @$u{qw(id template_id expire)} ], [ $code, 'promo_mark', '2030-01-01 00:00:00' ],
            'template and expire changed';
        is_deeply $u->{settings}, { status => 1, note => 'x' }, 'settings replaced';
        is $apply->(ann => $code), 'ok', 'the updated code works';
        $r = $s->req(POST => '/shm/v1/admin/promo', %A, json => { id => $code, expire => '' });
        is data($r)->[0]{expire}, undef, 'expire cleared (id argument)';
        $r = $s->req(POST => '/shm/v1/admin/promo', %A, json => { id => $code, template_id => 'nope' });
        is "$r->{status} $r->{json}{error}", '400 Field template_id: template nope not found', 'bad template';
        $r = $s->req(POST => '/shm/v1/admin/promo', %A, json => { id => 'NOPE', expire => '' });
        is $r->{status}, 404, 'update of an unknown code';
        $r = $s->req(POST => '/shm/v1/admin/promo', %A, json => { expire => '' });
        is "$r->{status} $r->{json}{error}", '400 `id` not present', 'id required';
        $r = $s->req(DELETE => '/shm/v1/admin/promo/MANY', %A);
        is $r->{status}, 200, 'delete a reusable code';
        is $apply->(ann => 'MANY'), '400 Promo code not found', 'gone, with its usage rows';
        $r = $s->req(DELETE => '/shm/v1/admin/promo', %A, query => { id => $code });
        is $r->{status}, 200, 'delete by id';
        $r = $s->req(DELETE => "/shm/v1/admin/promo/$code", %A);
        is $r->{status}, 404, 'twice: not found';

        $r = $s->req(PUT => '/shm/v1/admin/promo', %A, json => { count => 2 });
        is $r->{status}, 400, 'template_id required';
        $r = $s->req(PUT => '/shm/v1/admin/promo', %A, json => { template_id => 'nope' });
        is $r->{json}{error}, 'Field template_id: template nope not found', 'unknown template';
        $r = $s->req(PUT => '/shm/v1/admin/promo', session => $S{ann}, json => { template_id => 'promo_mark' });
        is $r->{status}, 403, 'users cannot generate';
    };
}

done_testing;
