# SSH identities: key generation, create/update/delete with derived public key and
# fingerprints, private keys encrypted at rest and never in a response, the secret key
# configuration (api.md §11.8 R133–R137; other.md §5; data-model.md §3.13;
# docs/identity-keys.md).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use BilldTest qw(engines canon jenc);

sub err_body { my ($status, $msg) = @_; return qq({"error":"$msg","status":$status}) }

# ssh-keygen -t rsa -b 2048 -m PEM -N "" (a PEM key as SHM users have them); its fingerprints
# as `ssh-keygen -l -E MD5 -f` and `ssh-keygen -l -f` print them.
my $RSA_PEM = join '', map { "$_\n" } (
    '-----BEGIN RSA PRIVATE KEY-----',
    'MIIEowIBAAKCAQEAyg7sFmGcSaZz7tfWPTLL2devKhnzweYsn7xKtLMuGn/Zzgmj',
    'Ki8wZdrgPiGWVbaCfj3GCl6wnUUSdW++/vqo0rtTVaeF1TbrdWgkPkWFImDto/eX',
    'ZfFQ4oOUc5mi+XiFpv020j0O8LjBNZJvcSuVGiYBgvJercIo6aV2H70BAEv5p2a0',
    'fVAIMR9FIJqDuLX1gASQjrDbBsZJS8VzrtOuHuld7Wk6vURpl1gAaCF08NT3dmlf',
    '0yVlwygRcVRCXDWjIQmWkTybuZM1tO3QWgQYsvp3Chl5/UuC/Icomhyqq3EwJHV9',
    'IfmLu7PfqqIJCm++VnAceaYEOWVSCd96TFBpawIDAQABAoIBADJ8CPvMlqaGOsgt',
    '0F8JDorWy3K6+j7zmims+4Nrk3TWhd5nZQeYs8B3L/kGHlA7Ih6Vo6Iap4kb5XFH',
    'ItMFYOIKINexXAx6RNlYVFnkt89vpWCG76JuaVW3J4O8ms43ETm4YZak39NAbjHK',
    '7SI7D+1xGoaTtRk3/k3mY/2pFRNz9mGzWp8HJ3RxAfrZoMbTRfGuFO+trV6PXPZW',
    'Ok9qMid/+T+mcAgxtUq9W1s7jfKfegUjnm4dRIu7E9ESXSdCN9Eb4RDnX8CFbLjQ',
    '63b2jwfTdVaKKSlFPNscJCzyNZHBWH6bUiCe1JMkzSMgZYLmvBdfU3kw99kbndYi',
    'quMjbxkCgYEA7Y0zYw1l8GHRMF2ns814Jf2AEdZWIWYJXyJ9Im9/QRHd9vUDsuDn',
    'jBjY6rK7Up/1LJCyOOgF1k2eYyMgjOAMdJKzCUjWpQtMU40UBB4BATsRmSCmnSLn',
    'nxYscIupyI7I23Cm11leYksVSuAIHEkcNZcA1LZI2eZ5FmEvyivW2HkCgYEA2cAS',
    '/1ozxNCabGiG9Wb9+vUnaHABiDJznTEOthu7HgSHoGpttli8Xbm9SI6Wus7MyYEL',
    'py864N+g75FK8giojSkSvIRHF3mQWhawrwIkaHBjy4C5UoIhMX57T8CdymtIV3Rn',
    '+ZtImmd9uMo7vDjuTcA/u1Jyo1qVgwJE+DHy4AMCgYA8Sh7ln8vkc179MHfUmWxJ',
    '8Aml/UkE1vm/7Gfn6nZYlGlKOSsEJjJ+CvxarJwAP1qhQeQJr1Fz72Uocgzb1C01',
    'FNpdm9/mKXToq6CN3vOQVWaE/5VpwicY6C7FLZ0cqqhtkSy28RaUScwQocVNMHz5',
    'WOa8FbttmiHXPTk8zV2MuQKBgQDHzh+ggDyQlHmekCuGcwMKjHmks2I0f1bnHmTJ',
    'ZZjFapKo9//EGph9yDmPoodc0vXG0MrIleYJAirCqSeD/73qCY5PvXEecUWr5LYr',
    'YGPYEYkA6xUiSJX8vHqaK7yeSOMQnJfryjlMtTn/nlJB3FuOrKHOWVEn467dj++J',
    'bwvV0QKBgEjPICBQShaZuOggBjJ1pK6pXq/diA13SuMkA4v+sOhynJktdhWLYqtt',
    'vs+5c/lUMygsvKuwZO/7/fzPXIncEW0JPVCXYnV7VzvNnULokVZbZ33EN2jw3gpF',
    'LDt6alp6+nm5qCxKPB02bvahW0jRII+b3q+eTUPu3R+Y3o3LDNbJ',
    '-----END RSA PRIVATE KEY-----');
my $RSA_MD5    = 'MD5:86:38:f3:72:d0:22:a3:23:39:f6:ba:53:0c:ff:3e:89';
my $RSA_SHA256 = 'SHA256:UmkNvhz9sxycm1U/9pzU9O98yEvaDlZ4rVogVfL0uHk';
my $RSA_PUB    = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDKDuwWYZxJpnPu19Y9MsvZ168qGfPB5iyfvEq0sy4af9nOCaMq'
  . 'LzBl2uA+IZZVtoJ+PcYKXrCdRRJ1b77++qjSu1NVp4XVNut1aCQ+RYUiYO2j95dl8VDig5RzmaL5eIWm/TbSPQ7wuME1km9'
  . 'xK5UaJgGC8l6twijppXYfvQEAS/mnZrR9UAgxH0UgmoO4tfWABJCOsNsGxklLxXOu064e6V3taTq9RGmXWABoIXTw1Pd2aV'
  . '/TJWXDKBFxVEJcNaMhCZaRPJu5kzW07dBaBBiy+ncKGXn9S4L8hyiaHKqrcTAkdX0h+Yu7s9+qogkKb75WcBx5pgQ5ZVIJ33'
  . 'pMUGlr';

my $MD5_RE    = qr/^MD5:(?:[0-9a-f]{2}:){15}[0-9a-f]{2}$/;
my $SHA256_RE = qr{^SHA256:[A-Za-z0-9+/]{43}$};
my $ENV_RE    = qr{^sbx1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*$};
my $BAD_KEY   = 'Field private_key: not a valid unencrypted OpenSSH or PEM private key';

# No response may carry a private key or its envelope.
sub no_secret {
    my ($r, $name) = @_;
    unlike $r->{body}, qr/private_key|PRIVATE KEY|sbx1:/, "$name: no private key in the body";
}

for my $engine (engines()) {
    subtest $engine => sub {
        # no key configured: billd creates var/secret.key in its working directory
        my $s = BilldTest->start(engine => $engine, env => { BILLD_SECRET_KEY => undef });
        my %A = (session => $s->admin_session);
        my $P = '/shm/v1/admin/server/identity';

        my $expect = sub {
            my ($method, $path, $status, $msg, $name, %o) = @_;
            my $r = $s->req($method => $path, %A, %o);
            is $r->{status}, $status, "$name: $status";
            is canon($r), err_body($status, $msg), "$name: body";
            return $r;
        };

        subtest 'the secret key file' => sub {
            my $file = "$s->{dir}/var/secret.key";
            ok -f $file, 'var/secret.key was created in the working directory';
            is sprintf('%o', (stat $file)[2] & 0777), '600', 'mode 0600';
            open my $fh, '<', $file or die "$file: $!";
            like scalar(<$fh>), qr/^[0-9a-f]{64}\n\z/, '64 hex digits';
            like $s->log_text, qr/created a new secret key for identity encryption/, 'creation is logged';
        };

        my %gen;
        subtest 'generate' => sub {
            my $r = $s->req(GET => "$P/generate", %A);
            is $r->{status}, 200, 'default: 200';
            my $g = $r->{json}{data}[0] || {};
            is_deeply [ sort keys %$g ], [qw(fingerprint fingerprint_sha256 private_key public_key type)], 'default: the keys';
            like $g->{private_key}, qr/^-----BEGIN OPENSSH PRIVATE KEY-----\n(?:[A-Za-z0-9+\/=]{1,70}\n)+-----END OPENSSH PRIVATE KEY-----\n\z/,
              'default: OpenSSH format';
            like $g->{public_key}, qr{^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=* Generated by billd$}, 'default: ed25519 public key';
            is $g->{type}, 'ssh-ed25519', 'default: type';
            like $g->{fingerprint}, $MD5_RE, 'default: MD5 fingerprint';
            like $g->{fingerprint_sha256}, $SHA256_RE, 'default: SHA256 fingerprint';
            $gen{ed25519} = $g;

            for my $t ([ rsa => {}, qr/^ssh-rsa AAAAB3NzaC1yc2E/ ], [ ecdsa => {}, qr/^ecdsa-sha2-nistp256 / ],
                       [ ecdsa => { bits => 384 }, qr/^ecdsa-sha2-nistp384 / ]) {
                my ($type, $extra, $re) = @$t;
                $r = $s->req(GET => "$P/generate", %A, query => { type => $type, %$extra });
                my $name = "$type" . ($extra->{bits} ? " $extra->{bits}" : '');
                is $r->{status}, 200, "$name: 200";
                my $k = $r->{json}{data}[0] || {};
                like $k->{private_key} // '', qr/^-----BEGIN OPENSSH PRIVATE KEY-----\n/, "$name: OpenSSH format";
                like $k->{public_key} // '', $re, "$name: public key type";
                like $k->{public_key} // '', qr/ Generated by billd$/, "$name: comment";
                like $k->{fingerprint} // '', $MD5_RE, "$name: fingerprint";
                $gen{$name} = $k;
            }
            isnt $gen{rsa}{private_key}, $gen{ed25519}{private_key}, 'different keys';

            $expect->(GET => "$P/generate", 400,
                'Field type: dsa keys are not supported (OpenSSH disabled them); use ed25519, rsa or ecdsa',
                'dsa', query => { type => 'dsa' });
            $expect->(GET => "$P/generate", 400, 'Field type: must be one of ed25519|rsa|ecdsa', 'unknown type',
                query => { type => 'rsa1' });
            $expect->(GET => "$P/generate", 400, 'Field bits: expected an integer', 'bits text',
                query => { type => 'rsa', bits => 'many' });
            $expect->(GET => "$P/generate", 400, 'Field bits: RSA keys have 2048 to 8192 bits', 'rsa 1024',
                query => { type => 'rsa', bits => 1024 });

            $r = $s->req(GET => $P, %A);
            is jenc($r, 'items'), '0', 'generating saves nothing';
        };

        my ($id, $id2);
        subtest 'create' => sub {
            my $g = $gen{ed25519};
            my $r = $s->req(PUT => $P, %A, json => { name => 'deploy', private_key => $g->{private_key} });
            is $r->{status}, 200, 'generated key: 200';
            no_secret($r, 'create');
            my $row = $r->{json}{data}[0] || {};
            is_deeply [ sort keys %$row ], [qw(fingerprint fingerprint_sha256 id name public_key)], 'the columns, no private_key';
            $id = $row->{id};
            like $id // '', qr/^[1-9]\d*$/, 'integer id';
            is $row->{name}, 'deploy', 'name';
            is $row->{fingerprint}, $g->{fingerprint}, 'MD5 fingerprint as generated';
            is $row->{fingerprint_sha256}, $g->{fingerprint_sha256}, 'SHA256 fingerprint as generated';
            (my $bare = $g->{public_key}) =~ s/ Generated by billd$//;
            is $row->{public_key}, "$bare deploy", 'public key with the name as comment';

            my ($stored) = $s->sql("SELECT private_key FROM identities WHERE id = $id");
            like $stored, $ENV_RE, 'the column holds an sbx1 envelope';
            unlike $stored, qr/BEGIN|PRIVATE/, 'not the PEM';

            $r = $s->req(PUT => $P, %A,
                json => { name => 'legacy rsa', private_key => $RSA_PEM, public_key => 'forged', fingerprint => 'forged' });
            is $r->{status}, 200, 'PEM key: 200';
            no_secret($r, 'PEM create');
            is jenc($r, 'data', 0, 'fingerprint'), qq("$RSA_MD5"), 'PEM: fingerprint as ssh-keygen -l -E MD5 prints it';
            is jenc($r, 'data', 0, 'fingerprint_sha256'), qq("$RSA_SHA256"), 'PEM: SHA256 as ssh-keygen -l prints it';
            is jenc($r, 'data', 0, 'public_key'), qq("$RSA_PUB legacy rsa"), 'PEM: derived public key wins over the given one';
            $id2 = $r->{json}{data}[0]{id};
            my @envs = $s->sql('SELECT private_key FROM identities ORDER BY id');
            is scalar(@envs), 2, 'two rows';
            my %kid = map { (split /:/)[1] => 1 } @envs;
            is scalar(keys %kid), 1, 'both sealed with the same key id';
        };

        subtest 'create: errors save nothing' => sub {
            $expect->(PUT => $P, 400, $BAD_KEY, 'garbage key', json => { name => 'bad', private_key => 'ssh-ed25519 AAAA' });
            $expect->(PUT => $P, 400, $BAD_KEY, 'public key instead of private',
                json => { name => 'bad', private_key => $gen{ed25519}{public_key} });
            (my $cut = $gen{ed25519}{private_key}) =~ s/^(.{80}).*/$1/s;
            $expect->(PUT => $P, 400, $BAD_KEY, 'truncated key', json => { name => 'bad', private_key => $cut });
            $expect->(PUT => $P, 400, 'Field required: private_key', 'no key', json => { name => 'bad' });
            $expect->(PUT => $P, 400, 'Field required: name', 'no name', json => { private_key => $RSA_PEM });
            $expect->(PUT => $P, 400, 'Field private_key: expected a string', 'key as object',
                json => { name => 'bad', private_key => { a => 1 } });
            $expect->(PUT => $P, 400, 'Field name: longer than 64 characters', 'long name',
                json => { name => 'n' x 65, private_key => $RSA_PEM });
            $expect->(PUT => $P, 400, 'Unknown field: comment', 'unknown field',
                json => { name => 'bad', private_key => $RSA_PEM, comment => 'x' });
            my $r = $s->req(GET => $P, %A);
            is jenc($r, 'items'), '2', 'still two identities';
            is scalar($s->sql('SELECT id FROM identities')), 2, 'two rows in the table';
        };

        subtest 'list and read never show private_key' => sub {
            my $r = $s->req(GET => $P, %A);
            is $r->{status}, 200, 'list: 200';
            no_secret($r, 'list');
            is_deeply [ map { $_->{id} } @{ $r->{json}{data} } ], [ $id2, $id ], 'both, key descending';
            $r = $s->req(GET => $P, %A, query => { fields => 'private_key,name' });
            is $r->{status}, 200, 'fields=private_key,name: 200';
            no_secret($r, 'fields');
            is_deeply [ map { [ sort keys %$_ ] } @{ $r->{json}{data} } ], [ ['name'], ['name'] ], 'only name';
            $r = $s->req(GET => $P, %A, query => { filter => '{"private_key":"%BEGIN%"}' });
            is canon($r), err_body(400, 'Unknown filter field: private_key'), 'filter on private_key: 400';
            $r = $s->req(GET => $P, %A, query => { sort_field => 'private_key' });
            is $r->{status}, 200, 'sort on private_key: ignored (falls back to the key)';
            no_secret($r, 'sort');
            $r = $s->req(GET => $P, %A, query => { filter => qq({"fingerprint":"$RSA_MD5"}) });
            is_deeply [ map { $_->{id} } @{ $r->{json}{data} } ], [$id2], 'filter on fingerprint';
        };

        subtest 'update' => sub {
            my $r = $s->req(POST => $P, %A, json => { id => $id, name => 'deploy-2' });
            is $r->{status}, 200, 'rename: 200';
            no_secret($r, 'rename');
            like jenc($r, 'data', 0, 'public_key'), qr/^"ssh-ed25519 \S+ deploy-2"$/, 'rename: the comment follows';
            is jenc($r, 'data', 0, 'fingerprint'), qq("$gen{ed25519}{fingerprint}"), 'rename: same key';
            my ($before) = $s->sql("SELECT private_key FROM identities WHERE id = $id");

            my $k = $gen{ecdsa};
            $r = $s->req(POST => $P, %A, json => { id => $id, private_key => $k->{private_key} });
            is $r->{status}, 200, 'new key: 200';
            no_secret($r, 'new key');
            is jenc($r, 'data', 0, 'fingerprint'), qq("$k->{fingerprint}"), 'new key: its fingerprint';
            like jenc($r, 'data', 0, 'public_key'), qr/^"ecdsa-sha2-nistp256 \S+ deploy-2"$/, 'new key: stored name as comment';
            my ($after) = $s->sql("SELECT private_key FROM identities WHERE id = $id");
            like $after, $ENV_RE, 'new key: sealed';
            isnt $after, $before, 'new key: the envelope changed';

            $expect->(POST => $P, 400, $BAD_KEY, 'invalid key', json => { id => $id, private_key => 'nope' });
            $r = $s->req(GET => $P, %A, query => { filter => qq({"id":$id}) });
            is jenc($r, 'data', 0, 'fingerprint'), qq("$k->{fingerprint}"), 'invalid key: nothing changed';
            $expect->(POST => $P, 400, '`id` not present', 'no key', json => { name => 'x' });
            $expect->(POST => $P, 404, 'Object not found. Check the ID.', 'unknown id', json => { id => 9999, name => 'x' });
            $expect->(POST => $P, 404, 'Object not found. Check the ID.', 'unknown id with a key',
                json => { id => 9999, private_key => $RSA_PEM });
            $expect->(POST => $P, 400, 'Field name: must be a non-empty string', 'empty name', json => { id => $id, name => '' });
            $expect->(POST => $P, 400, 'Field id: expected an integer', 'id text', json => { id => 'first', name => 'x' });
        };

        subtest 'delete' => sub {
            my $r = $s->req(PUT => '/shm/v1/admin/server', %A, json => { transport => 'ssh', settings => { key_id => $id2 } });
            is $r->{status}, 200, 'a server uses the PEM identity';
            my $srv = $r->{json}{data}[0]{server_id};
            $expect->(DELETE => $P, 400, "Can't delete identity $id2: 1 server(s) use it as settings.key_id", 'in use',
                query => { id => $id2 });
            $r = $s->req(DELETE => '/shm/v1/admin/server', %A, query => { server_id => $srv });
            is $r->{status}, 200, 'the server is deleted';
            $r = $s->req(DELETE => $P, %A, query => { id => $id2 });
            is $r->{status}, 200, 'then the identity: 200';
            is jenc($r, 'data'), '[]', 'data []';
            $expect->(DELETE => $P, 404, 'Object not found. Check the ID.', 'again', query => { id => $id2 });
            $expect->(DELETE => $P, 400, 'Field required: id', 'no key');
            $r = $s->req(GET => $P, %A);
            is_deeply [ map { $_->{id} } @{ $r->{json}{data} } ], [$id], 'one identity left';
        };

        subtest 'non-admin' => sub {
            $s->register('someone', 'Password1');
            my $usid = $s->login('someone', 'Password1');
            for my $req ([ GET => $P ], [ PUT => $P ], [ POST => $P ], [ DELETE => $P ], [ GET => "$P/generate" ]) {
                my $r = $s->req(@$req, session => $usid, json => { id => $id, name => 'x', private_key => $RSA_PEM });
                is $r->{status}, 403, "$req->[0] $req->[1]: 403";
                is canon($r), err_body(403, 'Permission denied'), "$req->[0] $req->[1]: body";
            }
        };

        $s->stop;
    };
}

subtest 'secret key from the environment' => sub {
    my $hex = 'ab' x 32;
    my $s = BilldTest->start(engine => 'sqlite', env => { BILLD_SECRET_KEY => $hex });
    ok !-e "$s->{dir}/var/secret.key", 'no key file is created';
    my $r = $s->req(PUT => '/shm/v1/admin/server/identity', session => $s->admin_session,
        json => { name => 'k', private_key => $RSA_PEM });
    is $r->{status}, 200, 'an identity is stored';
    my ($stored) = $s->sql('SELECT private_key FROM identities');
    like $stored, $ENV_RE, 'sealed';
    $s->stop;

    # billd migrate loads the configuration like serve does, and exits
    my $dir = tempdir('billd-test-key-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    local $ENV{BILLD_SECRET_KEY} = 'not-hex';
    local $ENV{DATABASE_URL} = "sqlite://$dir/billd.db";
    my $out = qx(cd '$dir' && '$ENV{BILLD_BIN}' migrate 2>&1);
    isnt $?, 0, 'an invalid BILLD_SECRET_KEY stops start-up';
    like $out, qr/^billd: invalid configuration: BILLD_SECRET_KEY must be 64 hexadecimal digits \(32 bytes\)$/m,
      'with a clear message';
    ok !-e "$dir/billd.db", 'before the database is touched';
};

done_testing;
