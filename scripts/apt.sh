# Sourced by the scripts: what they need from Debian's packages.
#
#   need_postgres     queues PostgreSQL's server binaries and pgbench when missing
#   need_haproxy      queues HAProxy (make cluster and the cluster tests run it) when missing
#   need_browser      queues Chromium, Node and npm when missing
#   install_needed    installs what was queued, with apt-get (as root, or sudo)

need_apt=()

need_postgres() {
	local pg_bin="" d
	for d in "${PG_BINDIR:-}" /usr/lib/postgresql/*/bin; do
		if [ -n "$d" ] && [ -x "$d/initdb" ]; then pg_bin=$d; fi
	done
	[ -n "$pg_bin" ] || need_apt+=(postgresql)
	command -v pgbench >/dev/null || [ -x "${pg_bin:-/nonexistent}/pgbench" ] || need_apt+=(postgresql-contrib)
}

need_haproxy() {
	command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
}

need_browser() {
	[ -x /usr/bin/chromium ] || need_apt+=(chromium)
	command -v node >/dev/null || need_apt+=(nodejs)
	command -v npm >/dev/null || need_apt+=(npm)
}

install_needed() {
	[ ${#need_apt[@]} -gt 0 ] || return 0
	echo "installing ${need_apt[*]} with apt-get"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}"
}
