#!/usr/bin/env bash
# Throwaway Request Tracker 5 servers on loopback, for Switchover's RT adapter tests.
#
#   scripts/rt-server.sh install          # apt-get install request-tracker5 + rt5-db-sqlite (idempotent)
#   scripts/rt-server.sh start <workdir>  # copy pristine DB, write config, start on a free 127.0.0.1 port
#   scripts/rt-server.sh stop  <workdir>  # stop the server started in <workdir>
#   scripts/rt-server.sh status <workdir> # exit 0 if it answers
#   scripts/rt-server.sh insert <workdir> <initialdata.pl>  # rt-setup-database --action insert into the copy
#   scripts/rt-server.sh disable-notifications <workdir>    # disable every mail-sending scrip in the copy
#
# `start` prints KEY=VALUE lines (also written to <workdir>/env, source-able):
#   RT_URL, RT_PID, RT_PORT, RT_USER, RT_PASSWORD, RT_DB, RT_MAIL_LOG, RT_LOG, RT_WORKDIR
# Outgoing mail never leaves the box: RT pipes it to <workdir>/sendmail, which appends
# it to $RT_MAIL_LOG. "No mail sent" == that file is absent or empty.
# The package's own config and database are never modified.
#
# Env knobs: RT_PRISTINE_DB (source DB to copy), RT_PORT (fixed port instead of a free one),
#            RT_START_TIMEOUT (seconds, default 120), RT_WORKERS (Starlet workers, default 2),
#            RT_HONOUR_IMPORT_FIELDS=1 (serve REST 2.0 as RT builds before the October 2026
#            security fix did: Created and Creator on a create are kept, not dropped; see
#            RT-NOTES.md "Two kinds of RT"). Without it the server behaves as installed.
set -euo pipefail

RT_SERVER_BIN=/usr/share/request-tracker5/libexec/rt-server
DEFAULT_PRISTINE_DB=/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb
RT_ROOT_USER=root
RT_ROOT_PASSWORD=password   # set by the Debian package (debconf default / our preseed)

die() { echo "rt-server.sh: $*" >&2; exit 1; }

pkg_installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'
}

cmd_install() {
    if pkg_installed request-tracker5 && pkg_installed rt5-db-sqlite && [ -x "$RT_SERVER_BIN" ]; then
        echo "request-tracker5 + rt5-db-sqlite already installed"
    else
        [ "$(id -u)" = 0 ] || die "install needs root"
        # Preseed so that dbconfig-common creates the SQLite DB without prompting.
        # exim4 is pulled in by a hard dependency (default-mta | mail-transport-agent);
        # keep it local-only. Our throwaway servers never call it anyway.
        debconf-set-selections <<'EOF'
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/initial-root-password password password
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/rtname string switchover.test
request-tracker5 request-tracker5/correspondaddress string rt@switchover.test
request-tracker5 request-tracker5/commentaddress string rt-comment@switchover.test
exim4-config exim4/dc_eximconfig_configtype select local delivery only; not on a network
exim4-config exim4/dc_local_interfaces string 127.0.0.1
EOF
        # Do not let maintainer scripts start daemons (exim4) if nothing forbids it already.
        local made_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            made_policy=1
        fi
        export DEBIAN_FRONTEND=noninteractive
        local rc=0
        { apt-get update -q && apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            request-tracker5 rt5-db-sqlite; } || rc=$?
        [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
        [ "$rc" = 0 ] || die "apt-get failed ($rc)"
    fi
    [ -f "${RT_PRISTINE_DB:-$DEFAULT_PRISTINE_DB}" ] \
        || die "pristine DB ${RT_PRISTINE_DB:-$DEFAULT_PRISTINE_DB} missing (dbconfig-common did not create it?); try: dpkg-reconfigure request-tracker5"
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1, ReuseAddr => 1)
            or die "no free port: $!\n";
        print $s->sockport, "\n";'
}

bcrypt4() {
    # Same format as RT::User::_GeneratePassword_bcrypt, but cost 4 (cost 12 costs ~0.2 s per request).
    perl -MCrypt::Eksblowfish::Bcrypt -MDigest::SHA -MEncode -e '
        my $s = ""; $s .= pack("C", int rand 256) for 1..16;
        my $h = Crypt::Eksblowfish::Bcrypt::bcrypt_hash({key_nul => 1, cost => 4, salt => $s},
                    Digest::SHA::sha512(Encode::encode("UTF-8", $ARGV[0])));
        print join("!", "", "bcrypt", "04",
            Crypt::Eksblowfish::Bcrypt::en_base64($s) . Crypt::Eksblowfish::Bcrypt::en_base64($h));' "$1"
}

answers() { # url -> 0 if REST 2.0 answers with 200
    [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' -u "$RT_ROOT_USER:$RT_ROOT_PASSWORD" "$1/REST/2.0/rt" || true)" = 200 ]
}

cmd_start() {
    local wd="${1:?usage: rt-server.sh start <workdir>}"
    [ -x "$RT_SERVER_BIN" ] || die "RT not installed; run: $0 install"
    local src="${RT_PRISTINE_DB:-$DEFAULT_PRISTINE_DB}"
    [ -f "$src" ] || die "pristine DB $src missing"
    mkdir -p "$wd"
    wd="$(cd "$wd" && pwd)"
    if [ -f "$wd/env" ]; then
        local oldpid; oldpid="$(sed -n 's/^RT_PID=//p' "$wd/env")"
        if [ -n "$oldpid" ] && kill -0 "$oldpid" 2>/dev/null; then
            die "a server is already running for $wd (pid $oldpid); stop it first"
        fi
    fi
    rm -rf "$wd/mason" "$wd/sessions" "$wd/site.d" "$wd/env" "$wd/outgoing-mail.log"
    mkdir -p "$wd/mason" "$wd/sessions" "$wd/site.d"   # site.d stays empty: hides /etc/request-tracker5/RT_SiteConfig.d

    # Fresh copy of the pristine database; only the copy is ever written.
    cp "$src" "$wd/rtdb.tmp"
    sqlite3 "$wd/rtdb.tmp" "UPDATE Users SET Password='$(bcrypt4 "$RT_ROOT_PASSWORD")' WHERE Name='$RT_ROOT_USER';"
    mv -f "$wd/rtdb.tmp" "$wd/rtdb"
    rm -f "$wd/rtdb-journal" "$wd/rtdb-wal" "$wd/rtdb-shm"

    cat > "$wd/sendmail" <<EOF
#!/bin/sh
# Stand-in for sendmail: RT's outgoing mail is appended here instead of being sent.
{ echo "===== captured \$(date -u +%Y-%m-%dT%H:%M:%SZ) args: \$*"; cat; echo; } >> '$wd/outgoing-mail.log'
exit 0
EOF
    chmod 755 "$wd/sendmail"

    local plugin_lines=""
    rm -rf "$wd/plugins"
    if [ "${RT_HONOUR_IMPORT_FIELDS:-0}" = 1 ]; then
        write_honour_import_fields_plugin "$wd/plugins"
        plugin_lines="\$RT::PluginPath = '$wd/plugins';
Set(@Plugins, 'RT::Extension::SwitchoverHonourImportFields');"
    fi

    local attempt port pid=""
    for attempt in 1 2 3 4 5; do
        port="${RT_PORT:-$(free_port)}"
        cat > "$wd/RT_SiteConfig.pm" <<EOF
# Generated by scripts/rt-server.sh; loaded via RT_SITE_CONFIG (RT_SITE_CONFIG_DIR=$wd/site.d is empty).
Set(\$rtname, 'switchover.test');
Set(\$Organization, 'switchover.test');
Set(\$CorrespondAddress, 'rt@switchover.test');
Set(\$CommentAddress, 'rt-comment@switchover.test');
Set(\$Timezone, 'UTC');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$wd/rtdb');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $port);
Set(\$WebPath, '');
Set(\$WebBaseURL, 'http://127.0.0.1:$port');
Set(\$CanonicalizeRedirectURLs, 1);
Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
Set(\$LogToSTDERR, 'warning');
Set(\$MailCommand, 'sendmailpipe');
Set(\$SendmailPath, '$wd/sendmail');
Set(\$BcryptCost, 4);
\$RT::MasonDataDir = '$wd/mason';
\$RT::MasonSessionDir = '$wd/sessions';
$plugin_lines
1;
EOF
        : > "$wd/rt-server.log"
        (
            cd "$wd"
            export RT_SITE_CONFIG="$wd/RT_SiteConfig.pm" RT_SITE_CONFIG_DIR="$wd/site.d"
            exec setsid "$RT_SERVER_BIN" --listen "127.0.0.1:$port" --max-workers "${RT_WORKERS:-2}" \
                >> "$wd/rt-server.log" 2>&1 < /dev/null
        ) &
        pid=$!
        local deadline=$(( $(date +%s) + ${RT_START_TIMEOUT:-120} )) up=0
        while [ "$(date +%s)" -lt "$deadline" ]; do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if answers "http://127.0.0.1:$port"; then up=1; break; fi
            sleep 0.2
        done
        if [ "$up" = 1 ]; then break; fi
        kill -TERM -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
        if grep -q "couldn't start up a web server on port" "$wd/rt-server.log" && [ -z "${RT_PORT:-}" ]; then
            continue   # lost a port race; try another
        fi
        cat "$wd/rt-server.log" >&2
        die "RT did not come up (see $wd/rt-server.log)"
    done
    [ -n "$pid" ] || die "could not find a free port"

    cat > "$wd/env" <<EOF
RT_URL=http://127.0.0.1:$port
RT_PID=$pid
RT_PORT=$port
RT_USER=$RT_ROOT_USER
RT_PASSWORD=$RT_ROOT_PASSWORD
RT_DB=$wd/rtdb
RT_MAIL_LOG=$wd/outgoing-mail.log
RT_LOG=$wd/rt-server.log
RT_WORKDIR=$wd
EOF
    cat "$wd/env"
}

write_honour_import_fields_plugin() { # dir -> an RT plugin that keeps Created/Creator on REST 2.0 creates
    local lib="$1/RT-Extension-SwitchoverHonourImportFields/lib/RT/Extension"
    mkdir -p "$lib"
    cat > "$lib/SwitchoverHonourImportFields.pm" <<'PERL'
# Written by scripts/rt-server.sh for throwaway test servers only.
# RT 5.0.3+dfsg-3~deb12u7 (and upstream's same fix) drops id, Creator, Created,
# LastUpdated and LastUpdatedBy from every REST 2.0 write body, through the role method
# RT::REST2::Resource::Record::Writable::immutable_fields. Builds before that fix passed
# Created and Creator through to RT::Record::Create ("parameters passed in during an
# import"). This plugin gives the role back that older behaviour, before the resource
# classes compose it; on an RT without the method it changes nothing.
package RT::Extension::SwitchoverHonourImportFields;
use strict;
use warnings;
require RT::REST2::Resource::Record::Writable;
if ( RT::REST2::Resource::Record::Writable->can('immutable_fields') ) {
    Moose::Util::find_meta('RT::REST2::Resource::Record::Writable')
        ->add_method( immutable_fields => sub { qw(id) } );
}
1;
PERL
}

cmd_stop() {
    local wd="${1:?usage: rt-server.sh stop <workdir>}"
    [ -f "$wd/env" ] || { echo "no $wd/env; nothing to stop"; return 0; }
    local pid; pid="$(sed -n 's/^RT_PID=//p' "$wd/env")"
    [ -n "$pid" ] || return 0
    # rt-server was exec'd under setsid, so pid is its process group; TERM (not INT:
    # Debian's rt-server chowns /var/lib/request-tracker5 on SIGINT when root).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    sed -i 's/^RT_PID=.*/RT_PID=/' "$wd/env"
    echo "stopped $pid"
}

cmd_status() {
    local wd="${1:?usage: rt-server.sh status <workdir>}"
    [ -f "$wd/env" ] || die "no $wd/env"
    local url; url="$(sed -n 's/^RT_URL=//p' "$wd/env")"
    answers "$url" && echo "up: $url" || { echo "down: $url"; return 1; }
}

rt_env() { # workdir -> exports the env that points RT's tools at this workdir's config + DB
    local wd="$1"
    [ -f "$wd/RT_SiteConfig.pm" ] || die "$wd has no RT_SiteConfig.pm; run start first"
    wd="$(cd "$wd" && pwd)"
    export RT_SITE_CONFIG="$wd/RT_SiteConfig.pm" RT_SITE_CONFIG_DIR="$wd/site.d"
}

cmd_insert() {
    local usage="usage: rt-server.sh insert <workdir> <initialdata.pl>"
    local wd="${1:?$usage}" file="${2:?$usage}"
    [ -f "$file" ] || die "no such file: $file"
    file="$(realpath "$file")"
    rt_env "$wd"
    # Works while the server runs (SQLite locking); ACL/scrip changes apply from the next request.
    local out rc=0
    out="$(/usr/sbin/rt-setup-database-5 --action insert --skip-create --datafile "$file" 2>&1)" || rc=$?
    printf '%s\n' "$out" | grep -v 'internal HTML converter' || true
    return "$rc"
}

cmd_disable_notifications() {
    local wd="${1:?usage: rt-server.sh disable-notifications <workdir>}"
    local f rc=0
    f="$(mktemp --suffix=.pl)"
    cat > "$f" <<'PERL'
@Final = (sub {
    my $scrips = RT::Scrips->new(RT->SystemUser);
    $scrips->UnLimit;   # enabled scrips only
    while (my $s = $scrips->Next) {
        next unless $s->ActionObj->ExecModule =~ /^(Notify|NotifyAsComment|NotifyGroup|NotifyGroupAsComment|Autoreply|SendForward)$/;
        $s->SetDisabled(1);
        print "disabled scrip #", $s->id, " ", $s->Description, "\n";
    }
});
1;
PERL
    cmd_insert "$wd" "$f" || rc=$?
    rm -f "$f"
    return "$rc"
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    start)   shift; cmd_start "$@" ;;
    stop)    shift; cmd_stop "$@" ;;
    status)  shift; cmd_status "$@" ;;
    insert)  shift; cmd_insert "$@" ;;
    disable-notifications) shift; cmd_disable_notifications "$@" ;;
    *) echo "usage: $0 install | start <workdir> | stop <workdir> | status <workdir> | insert <workdir> <file> | disable-notifications <workdir>" >&2; exit 2 ;;
esac
