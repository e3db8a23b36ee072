package TestPeer;

# What the test servers t/lib/HttpPeer.pm and t/lib/SmtpSink.pm share (perl core modules;
# IO::Socket::SSL only for TLS): a listener on 127.0.0.1 with a free port, one child process
# per connection (SIGTERM stops them all), records written atomically as JSON files in a
# directory, a self-signed certificate for the TLS modes, and the two ways to run a peer:
#
#   my $p = Peer->start(dir => $dir, %options);   # forks; returns once listening
#   $p->port; $p->records; $p->stop;
#   perl -It/lib -MPeer -e Peer::main -- DIR PORTFILE [--option value ...]
#     (writes the port to PORTFILE once listening; stop it with SIGTERM)
#
# A peer module says `use parent -norequire, 'TestPeer'` after `use TestPeer` and defines
# `_connection($class, $socket, \%options, $connection_number)`.

use strict;
use warnings;

use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG _exit);

my $JSON = JSON::PP->new->canonical->utf8;

sub start {
    my ($class, %o) = @_;
    $o{dir} or die "$class: dir required";
    my $sock = _listen();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $class->_serve($sock, \%o);
        _exit(0);
    }
    my $port = $sock->sockport;
    close $sock;
    return bless { pid => $pid, port => $port, dir => $o{dir} }, $class;
}

sub port { $_[0]{port} }

# The records so far (DIR/<digits and dashes>.json), oldest first.
sub records {
    my ($self) = @_;
    opendir(my $d, $self->{dir}) or return ();
    my @f = sort grep { /^\d[\d-]*\.json$/ } readdir $d;
    closedir $d;
    return map {
        open my $fh, '<:raw', "$self->{dir}/$_" or die "$_: $!";
        local $/;
        $JSON->decode(scalar <$fh>);
    } @f;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop }

# main() of a peer module: DIR PORTFILE [--key value ...] from @ARGV.
sub run_main {
    my ($class) = @_;
    my ($dir, $portfile, @rest) = @ARGV;
    die "usage: ${class}::main DIR PORTFILE [--option value ...]\n" unless $dir && $portfile;
    my %o = (dir => $dir);
    while (my $k = shift @rest) { $k =~ s/^--//; $o{$k} = shift @rest }
    my $sock = _listen();
    open my $fh, '>', "$portfile.tmp" or die "$portfile.tmp: $!";
    print $fh $sock->sockport, "\n";
    close $fh;
    rename "$portfile.tmp", $portfile or die "rename: $!";
    $class->_serve($sock, \%o);
    exit 0;
}

# Writes $rec as DIR/$name.json (UTF-8 JSON; renamed into place, so readers never see half).
sub write_record {
    my ($o, $name, $rec) = @_;
    my $file = "$o->{dir}/$name.json";
    open my $fh, '>:raw', "$file.tmp" or die "$file.tmp: $!";
    print $fh $JSON->encode($rec);
    close $fh;
    rename "$file.tmp", $file or die "rename: $!";
}

# Turns a connection into the server side of TLS with the peer's certificate.
sub start_tls {
    my ($c, $o) = @_;
    return IO::Socket::SSL->start_SSL($c, SSL_server => 1, SSL_cert_file => $o->{cert},
                                      SSL_key_file => $o->{key});
}

sub _listen {
    return IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64,
                                 Proto => 'tcp', ReuseAddr => 1) || die "listen: $!";
}

# Makes DIR/tls.crt and DIR/tls.key (self-signed, CN localhost) when $o->{tls} is set.
sub _make_cert {
    my ($o) = @_;
    require IO::Socket::SSL;
    my ($crt, $key) = ("$o->{dir}/tls.crt", "$o->{dir}/tls.key");
    system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        . " -keyout '$key' -out '$crt' -subj /CN=localhost -days 2 >/dev/null 2>&1") == 0
      or die "openssl req failed\n";
    @$o{qw(cert key)} = ($crt, $key);
}

# Accept loop: one child per connection; SIGTERM ends the children too.
sub _serve {
    my ($class, $sock, $o) = @_;
    _make_cert($o) if $o->{tls};
    my %kids;
    my $seq = 0;
    local $SIG{TERM} = sub { kill 'KILL', keys %kids; _exit(0) };
    local $SIG{CHLD} = sub { while ((my $k = waitpid(-1, WNOHANG)) > 0) { delete $kids{$k} } };
    while (1) {
        my $c = $sock->accept or next;
        $seq++;
        my $pid = fork;
        if (defined $pid && !$pid) {
            $SIG{TERM} = 'DEFAULT';
            close $sock;
            binmode $c;
            $class->_connection($c, $o, $seq);
            _exit(0);
        }
        $kids{$pid} = 1 if $pid;
        close $c;
    }
}

1;
