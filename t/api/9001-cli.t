# The billd command line: help for every command, version, migrate (first admin, idempotent),
# user add/passwd, check, identity rekey, and clear errors for bad configuration.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);

my $bin = $ENV{BILLD_BIN} or plan skip_all => 'BILLD_BIN not set';
my $dir = tempdir(CLEANUP => 1);
my %base = (DATABASE_URL => "sqlite://$dir/cli.db", TZ => 'UTC', LOG_LEVEL => 'error',
            BILLD_SECRET_KEY => 'ab' x 32);

# Runs billd with extra environment; returns (exit status, stdout+stderr).
sub billd {
    my ($env, @args) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        delete @ENV{qw(BILLD_ADMIN_PASSWORD BILLD_PASSWORD BILLD_SECRET_KEY_FILE LISTEN)};
        %ENV = (%ENV, %base, %$env);
        open STDERR, '>&', \*STDOUT;
        exec $bin, @args or do { print "exec: $!\n"; exit 127 };
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

my ($rc, $out) = billd({}, '--help');
is $rc, 0, 'billd --help';
like $out, qr/^\s+$_\s/m, "--help lists $_" for qw(serve migrate user check identity renew import-shm version);

for my $cmd (qw(serve migrate user check identity renew import-shm)) {
    ($rc, $out) = billd({}, $cmd, '--help');
    is $rc, 0, "billd $cmd --help exits 0";
    like $out, qr/^usage: billd $cmd/m, "billd $cmd --help prints its usage";
}

($rc, $out) = billd({}, 'version');
is $rc, 0, 'version';
like $out, qr/^billd \d+\.\d+\.\d+$/m, 'version text';

($rc, $out) = billd({}, 'no-such-command');
is $rc, 2, 'unknown command: exit 2';
like $out, qr/unknown command 'no-such-command'/, 'unknown command: message';

($rc, $out) = billd({ WORKERS_COUNT => 'x' }, 'migrate');
is $rc, 1, 'bad WORKERS_COUNT stops start-up';
like $out, qr/^billd: invalid configuration: WORKERS_COUNT must be an integer between 2 and 256, got "x"$/m,
    'one clear message naming the variable';
($rc, $out) = billd({ DATABASE_URL => 'mysql://x' }, 'migrate');
is $rc, 1, 'bad DATABASE_URL';
like $out, qr/invalid configuration: DATABASE_URL must be/, 'DATABASE_URL message';

($rc, $out) = billd({}, 'migrate');
is $rc, 0, 'migrate on an empty database';
like $out, qr/first run: created admin user 'admin' with password: ([A-Za-z0-9]{20})/,
    'the generated admin password is printed once';
($rc, $out) = billd({}, 'migrate');
is $rc, 0, 'migrate again';
unlike $out, qr/first run/, 'no second admin';
like $out, qr/database is up to date/, 'up to date';

($rc, $out) = billd({}, qw(user add alice --password Secret123));
is $rc, 0, 'user add';
like $out, qr/created user 'alice' \(user_id 2\)/, 'user add output';
($rc, $out) = billd({}, qw(user add alice --password Secret123));
is $rc, 1, 'user add of an existing login fails';
like $out, qr/Login already in use/, 'duplicate login message';
($rc, $out) = billd({}, qw(user add bob --password short));
is $rc, 1, 'short password refused';
like $out, qr/at least 8 characters/, 'password policy message';
($rc, $out) = billd({}, qw(user passwd alice));
is $rc, 0, 'user passwd with a generated password';
like $out, qr/^password: [A-Za-z0-9]{20}$/m, 'generated password printed';
($rc, $out) = billd({}, qw(user passwd nobody --password Secret123));
is $rc, 1, 'passwd of an unknown login fails';

($rc, $out) = billd({}, 'check');
is $rc, 0, 'check passes';
like $out, qr/ledger check: 0 mismatching user\(s\)/, 'check output';
system('sqlite3', "$dir/cli.db", 'UPDATE users SET balance = balance + 1 WHERE login = \'alice\'') == 0
    or die 'sqlite3 failed';
($rc, $out) = billd({}, 'check');
is $rc, 1, 'check fails when a balance differs from the ledger';
like $out, qr/ledger check: 1 mismatching user\(s\)/, 'the mismatch is counted';

($rc, $out) = billd({}, qw(identity rekey));
is $rc, 0, 'identity rekey';
like $out, qr/re-encrypted 0 identities/, 'rekey output';
($rc, $out) = billd({}, 'identity');
is $rc, 2, 'identity without a subcommand is a usage error';

done_testing;
