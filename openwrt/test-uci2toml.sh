#!/usr/bin/env bash
# Tests openwrt/zatan/files/zatan-uci2toml with the real `uci` command (built
# from libuci-sys, see packaging/uci-tool), under busybox ash with busybox's
# awk and sed as on a router, and under dash with the host's tools:
#
#   bash openwrt/test-uci2toml.sh ZATAN_BINARY
#
# ZATAN_BINARY (any build runnable here) checks the generated TOML the way the
# init script does; Python's tomllib reads it back to compare each value.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../packaging/lib.sh"

[ $# -eq 1 ] || die "usage: test-uci2toml.sh ZATAN_BINARY"
zatan=$(readlink -f "$1")
converter=$here/zatan/files/zatan-uci2toml
shipped=$here/zatan/files/zatan.config

apt_install busybox dash python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# a PATH with uci and either busybox's applets or the host's tools
mkdir -p "$work/bin-busybox" "$work/bin-host"
busybox --install -s "$work/bin-busybox"
install_uci "$work/bin-host"
cp "$work/bin-host/uci" "$work/bin-busybox/uci"


uci() { "$work/bin-host/uci" -c "$work/etc" -t "$work/uci-save" "$@"; }
fresh_config() { rm -rf "$work/etc" "$work/uci-save"; mkdir -p "$work/etc" "$work/uci-save"; cp "$shipped" "$work/etc/zatan"; }
set_opt() { uci set "zatan.$1=$2" && uci commit zatan; }

# run_converter SHELL ARGS...: stdout, stderr and status in $work/out, err, status
run_converter() {
    local shell=$1; shift
    local path
    case $shell in
        busybox) path=$work/bin-busybox; set -- "$(command -v busybox)" sh "$converter" "$@" ;;
        dash) path=$work/bin-host:$PATH; set -- "$(command -v dash)" "$converter" "$@" ;;
    esac
    set +e
    env -i PATH="$path" UCI_CONFIG_DIR="$work/etc" "$@" >"$work/out" 2>"$work/err"
    echo $? >"$work/status"
    set -e
}

# toml_get FILE DOTTED.KEY: the value as Python's repr, or <absent>
toml_get() {
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        doc = tomllib.load(f)
except (OSError, tomllib.TOMLDecodeError) as e:
    print("<unreadable: %s>" % e); sys.exit(0)
node = doc
for part in sys.argv[2].split("."):
    if not isinstance(node, dict) or part not in node:
        print("<absent>"); sys.exit(0)
    node = node[part]
print(repr(node))
EOF
}
py_repr() { /usr/bin/python3 -c 'import sys; print(repr(sys.argv[1]))' "$1"; }
py_repr_int() { /usr/bin/python3 -c 'import sys; print(repr(int(sys.argv[1])))' "$1"; }

expect_value() { # SHELL FILE KEY EXPECTED_REPR
    local got
    got=$(toml_get "$2" "$3")
    if [ "$got" = "$4" ]; then pass "$1: $3 round-trips"; else flunk "$1: $3 is $got, expected $4"; fi
}

check_mode() { # SHELL FILE
    local mode
    mode=$(stat -c %a "$2" 2>/dev/null || echo missing)
    if [ "$mode" = 600 ]; then pass "$1: TOML is mode 0600"; else flunk "$1: TOML is mode $mode, not 0600"; fi
}

zatan_accepts() { # SHELL FILE WHAT
    if (cd "$work" && "$zatan" check --config "$2" >"$work/check.out" 2>&1); then
        pass "$1: zatan check accepts $3"
    else
        flunk "$1: zatan check refuses $3: $(tail -n 3 "$work/check.out")"
    fi
}

no_leak() { # SHELL SECRET...
    local shell=$1 secret leaked=
    shift
    for secret in "$@"; do
        if grep -qF -- "$secret" "$work/out" "$work/err"; then leaked="$leaked $secret"; fi
    done
    if [ -z "$leaked" ]; then pass "$shell: no secret in the converter's output"; else flunk "$shell: secrets printed:$leaked"; fi
}

aes_key=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
nl='
'
# Values meant to break a careless converter: TOML quoting, shell expansion,
# control characters (uci itself refuses all but tab, CR, LF and DEL), non-ASCII.
hostile_welcome="Say \"hi\" \\ back\\slash 'single' \$(touch $work/pwned) \`touch $work/pwned2\` # not a comment ]${nl}line two	tab 中文 $(printf '\r\177')end"
hostile_secret='s3cr3t"\\n\u00e9'"'"'$HOME'
hostile_dir="$work/data dir/with \"quotes\" and \\"

for shell in busybox dash; do
    # --- the shipped config, enabled, with the owner's basic settings ---------
    fresh_config
    set_opt main.enabled 1
    set_opt main.token Tok3nValue
    set_opt main.data_dir "$work/data-$shell"
    run_converter "$shell" "$work/plain.toml"
    if [ "$(cat "$work/status")" = 0 ] && [ ! -s "$work/out" ] && [ ! -s "$work/err" ]; then
        pass "$shell: shipped config converts silently"
    else
        flunk "$shell: shipped config: status $(cat "$work/status"): $(cat "$work/err")"
    fi
    check_mode "$shell" "$work/plain.toml"
    expect_value "$shell" "$work/plain.toml" server.listen "'0.0.0.0:8080'"
    expect_value "$shell" "$work/plain.toml" wechat.token "'Tok3nValue'"
    expect_value "$shell" "$work/plain.toml" pictures.dir "$(py_repr "$work/data-$shell/pictures")"
    expect_value "$shell" "$work/plain.toml" rules.file "$(py_repr "$work/data-$shell/rules.toml")"
    expect_value "$shell" "$work/plain.toml" log.level "'info'"
    expect_value "$shell" "$work/plain.toml" mail "<absent>"
    expect_value "$shell" "$work/plain.toml" opds "<absent>"
    expect_value "$shell" "$work/plain.toml" books.link_ttl_secs "<absent>"
    expect_value "$shell" "$work/plain.toml" wechat.app_secret "<absent>"
    zatan_accepts "$shell" "$work/plain.toml" "the shipped config"
    no_leak "$shell" Tok3nValue

    run_converter "$shell" --dirs
    expected_dirs="$work/data-$shell${nl}$work/data-$shell/pictures${nl}$work/data-$shell/books${nl}$work/data-$shell/articles"
    if [ "$(cat "$work/out")" = "$expected_dirs" ]; then pass "$shell: --dirs lists the four directories"; else flunk "$shell: --dirs printed: $(cat "$work/out")"; fi

    # --- hostile values ----------------------------------------------------------
    set_opt main.app_id 'wx"1\'
    set_opt main.app_secret "$hostile_secret"
    set_opt main.encoding_aes_key "$aes_key"
    set_opt main.welcome "$hostile_welcome"
    set_opt main.data_dir "$hostile_dir"
    set_opt main.callback_path '/we"chat\'
    set_opt main.verified yes
    set_opt main.articles_author '小明 "X"'
    set_opt main.sync_drafts 1
    if [ "$(uci get zatan.main.welcome)" != "$hostile_welcome" ]; then
        flunk "$shell: uci did not keep the hostile welcome (test setup)"
    fi
    run_converter "$shell" "$work/hostile.toml"
    if [ "$(cat "$work/status")" = 0 ]; then pass "$shell: hostile values convert"; else flunk "$shell: hostile values: $(cat "$work/err")"; fi
    expect_value "$shell" "$work/hostile.toml" wechat.welcome "$(py_repr "$hostile_welcome")"
    expect_value "$shell" "$work/hostile.toml" wechat.app_secret "$(py_repr "$hostile_secret")"
    expect_value "$shell" "$work/hostile.toml" wechat.app_id "$(py_repr 'wx"1\')"
    expect_value "$shell" "$work/hostile.toml" server.callback_path "$(py_repr '/we"chat\')"
    expect_value "$shell" "$work/hostile.toml" storage.data_dir "$(py_repr "$hostile_dir")"
    expect_value "$shell" "$work/hostile.toml" books.dir "$(py_repr "$hostile_dir/books")"
    expect_value "$shell" "$work/hostile.toml" wechat.verified True
    expect_value "$shell" "$work/hostile.toml" articles.author "$(py_repr '小明 "X"')"
    expect_value "$shell" "$work/hostile.toml" articles.sync_drafts True
    if [ -e "$work/pwned" ] || [ -e "$work/pwned2" ]; then flunk "$shell: a value was run as a command"; else pass "$shell: no value was run as a command"; fi
    zatan_accepts "$shell" "$work/hostile.toml" "the hostile values"
    no_leak "$shell" Tok3nValue "$hostile_secret" "$aes_key"

    # --- mail: [mail] only once mail.host is set ------------------------------
    set_opt mail.host smtp.example.com
    set_opt mail.port 0465
    set_opt mail.security starttls
    set_opt mail.username 'kindle@example.com'
    set_opt mail.password 'p@ss"w\rd'
    set_opt mail.from 'zatan <kindle@example.com>'
    run_converter "$shell" "$work/mail.toml"
    if [ "$(cat "$work/status")" = 0 ]; then pass "$shell: mail settings convert"; else flunk "$shell: mail settings: $(cat "$work/err")"; fi
    expect_value "$shell" "$work/mail.toml" mail.host "'smtp.example.com'"
    expect_value "$shell" "$work/mail.toml" mail.port "$(py_repr_int 465)"
    expect_value "$shell" "$work/mail.toml" mail.security "'starttls'"
    expect_value "$shell" "$work/mail.toml" mail.username "'kindle@example.com'"
    expect_value "$shell" "$work/mail.toml" mail.password "$(py_repr 'p@ss"w\rd')"
    expect_value "$shell" "$work/mail.toml" mail.from "'zatan <kindle@example.com>'"
    no_leak "$shell" 'p@ss"w\rd'

    # --- downloads and the OPDS catalog: [opds] only once its user name is set -----
    # zatan check reads the mail settings too: a bare sender, as it requires
    set_opt mail.from 'kindle@example.com'
    set_opt main.link_ttl_secs 3600
    set_opt main.daily_downloads_per_user 020
    set_opt opds.username reader
    set_opt opds.password 'opds"p\w'
    set_opt opds.page_size 25
    run_converter "$shell" "$work/opds.toml"
    if [ "$(cat "$work/status")" = 0 ]; then pass "$shell: download and OPDS settings convert"; else flunk "$shell: OPDS settings: $(cat "$work/err")"; fi
    expect_value "$shell" "$work/opds.toml" books.link_ttl_secs "$(py_repr_int 3600)"
    expect_value "$shell" "$work/opds.toml" books.daily_downloads_per_user "$(py_repr_int 20)"
    expect_value "$shell" "$work/opds.toml" opds.username "'reader'"
    expect_value "$shell" "$work/opds.toml" opds.password "$(py_repr 'opds"p\w')"
    expect_value "$shell" "$work/opds.toml" opds.page_size "$(py_repr_int 25)"
    zatan_accepts "$shell" "$work/opds.toml" "the download and OPDS settings"
    no_leak "$shell" 'opds"p\w'

    # --- bad values: exit 2, the option named, the value not shown -----------------
    set_opt mail.port '25; rm -rf /'
    run_converter "$shell" "$work/bad.toml"
    if [ "$(cat "$work/status")" = 2 ] && grep -q 'zatan.mail.port' "$work/err" && ! grep -q 'rm -rf' "$work/err" && [ ! -e "$work/bad.toml" ]; then
        pass "$shell: a bad port is refused, named, not quoted, nothing written"
    else
        flunk "$shell: bad port: status $(cat "$work/status"), stderr: $(cat "$work/err")"
    fi
    set_opt mail.port 465
    set_opt main.verified maybe
    run_converter "$shell" "$work/bad.toml"
    if [ "$(cat "$work/status")" = 2 ] && grep -q 'zatan.main.verified' "$work/err"; then
        pass "$shell: a bad boolean is refused"
    else
        flunk "$shell: bad boolean: status $(cat "$work/status"), stderr: $(cat "$work/err")"
    fi

    rm -f "$work/etc/zatan"
    run_converter "$shell" "$work/none.toml"
    if [ "$(cat "$work/status")" = 2 ] && grep -q 'no UCI config' "$work/err"; then pass "$shell: a missing UCI config is an error"; else flunk "$shell: missing config: status $(cat "$work/status")"; fi
done

report uci2toml
