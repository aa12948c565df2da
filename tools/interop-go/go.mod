module auditlog.local/interop-go

go 1.19

require golang.org/x/mod v0.7.0

// Built offline from Debian's golang-golang-x-mod-dev (x/mod 0.7.0 sources):
// no module proxy is used (GOPROXY=off, GOFLAGS=-mod=mod).
replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
