package Sshd;

# A real OpenSSH server for tests of the ssh transport: /usr/sbin/sshd -D -e on a free
# 127.0.0.1 port, with a throwaway ed25519 host key and one authorized client key, everything
# in a temporary directory. Logins are as the current user (root in CI).
#
#   use Sshd;
#   my $d = Sshd->start or BAIL_OUT($Sshd::WHY);   # or skip_all with $Sshd::WHY
#   $d->port; $d->user; $d->dir;                    # "$d->{user}\@127.0.0.1", port
#   $d->client_key;                                 # the private key text (OpenSSH format)
#   $d->host_fingerprint;                           # "SHA256:..."
#   $d->stop; $d->start_again(new_host_key => 1);   # same port, optionally a new host key
#
# Perl core modules only.

use strict;
use warnings;

use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

our $WHY = '';
my $SSHD = '/usr/sbin/sshd';

sub _run {
    my (@cmd) = @_;
    my $out = qx{@cmd 2>&1};
    die "@cmd: $out" if $?;
    return $out;
}

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
      or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# Returns a started server, or undef with $Sshd::WHY set.
sub start {
    my ($class, %o) = @_;
    $WHY = '';
    if (!-x $SSHD) {
        $WHY = "$SSHD is not installed (apt-get install openssh-server)";
        return;
    }
    my $dir = tempdir('billd-sshd-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    my $self = bless { dir => $dir, user => ($> == 0 ? 'root' : scalar getpwuid($>)) }, $class;
    eval {
        _run('ssh-keygen', '-q', '-t', 'ed25519', '-N', "''", '-C', 'billd-test-client', '-f', "$dir/client_key");
        _run('cp', "$dir/client_key.pub", "$dir/authorized_keys");
        $self->_new_host_key;
        1;
    } or do {
        $WHY = "cannot make keys: $@";
        remove_tree($dir);
        return;
    };
    $self->{port} = $o{port} // _free_port();
    return $self->_launch ? $self : undef;
}

sub _new_host_key {
    my ($self) = @_;
    unlink "$self->{dir}/host_key", "$self->{dir}/host_key.pub";
    _run('ssh-keygen', '-q', '-t', 'ed25519', '-N', "''", '-C', 'billd-test-host', '-f', "$self->{dir}/host_key");
}

sub _launch {
    my ($self) = @_;
    my $d = $self->{dir};
    open my $fh, '>', "$d/sshd_config" or die "$d/sshd_config: $!";
    print $fh join "\n", "Port $self->{port}", 'ListenAddress 127.0.0.1', "HostKey $d/host_key",
      "PidFile $d/sshd.pid", "AuthorizedKeysFile $d/authorized_keys", 'UsePAM no', 'StrictModes no',
      'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes', 'AllowTcpForwarding yes',
      'LogLevel VERBOSE', '';
    close $fh;
    mkdir '/run/sshd', 0755 if $> == 0 && !-d '/run/sshd';    # privilege separation
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$d/sshd.log";
        open STDERR, '>>', "$d/sshd.log";
        { exec $SSHD, '-D', '-e', '-f', "$d/sshd_config" }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    for (1 .. 100) {
        return 1 if $self->_banner;
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            last;
        }
        sleep 0.05;
    }
    $self->_kill;
    $WHY = "sshd did not start: " . $self->log;
    return;
}

sub _banner {
    my ($self) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Timeout => 1)
      or return;
    my $got = '';
    $c->sysread($got, 4);
    close $c;
    return $got eq 'SSH-';
}

sub _kill {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

sub port { $_[0]{port} }
sub user { $_[0]{user} }
sub dir  { $_[0]{dir} }

sub log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/sshd.log" or return '';
    local $/;
    return <$fh> // '';
}

sub client_key {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/client_key" or die "client_key: $!";
    local $/;
    return <$fh>;
}

sub host_fingerprint {
    my ($self) = @_;
    my $out = _run('ssh-keygen', '-l', '-E', 'sha256', '-f', "$self->{dir}/host_key.pub");
    return $out =~ /(SHA256:\S+)/ ? $1 : undef;
}

sub stop { $_[0]->_kill }

# Starts again on the same port after stop(); new_host_key => 1 makes a new host key first.
sub start_again {
    my ($self, %o) = @_;
    $self->_kill;
    $self->_new_host_key if $o{new_host_key};
    return $self->_launch;
}

sub DESTROY {
    my ($self) = @_;
    $self->_kill;
    remove_tree($self->{dir}) if $self->{dir} && !$ENV{BILLD_TEST_KEEP};
}

1;
