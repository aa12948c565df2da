// Command interop-go checks that everything an auditlog server serves verifies with Go's
// reference code: golang.org/x/mod/sumdb/note (signed notes), golang.org/x/mod/sumdb/tlog
// (RFC 6962 tree hashes, tiles and proofs) and crypto/ed25519. It uses no auditlog code.
//
//	interop-go -log URL -vkey VKEY [-token SUBMITTER] [-old-checkpoint FILE] [-post N]
//	interop-go submit -log URL -token SUBMITTER -from A -to B   (feeds a test log)
//
// One line per check ("ok" or "FAIL"); the exit status is 1 if any check failed, 2 on bad usage.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is the C2SP tlog-tiles height: 2^8 = 256 hashes or entries per full tile.
const tileHeight = 8

var (
	logURL   string
	client   = &http.Client{Timeout: 30 * time.Second}
	failures int
	passes   int
	fetches  int
)

func ok(format string, args ...any) {
	passes++
	fmt.Printf("ok   %s\n", fmt.Sprintf(format, args...))
}

func fail(format string, args ...any) {
	failures++
	fmt.Printf("FAIL %s\n", fmt.Sprintf(format, args...))
}

// check prints ok or FAIL for one named check and reports whether it passed.
func check(name string, err error) bool {
	if err != nil {
		fail("%s: %v", name, err)
		return false
	}
	ok("%s", name)
	return true
}

func fatal(format string, args ...any) {
	fail(format, args...)
	fmt.Printf("%d passed, %d failed\n", passes, failures)
	os.Exit(1)
}

// ---------------------------------------------------------------- HTTP

func get(path string) ([]byte, *http.Response, error) {
	fetches++
	resp, err := client.Get(logURL + path)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, resp, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, resp, nil
}

func getJSON(path string, v any) error {
	body, _, err := get(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("GET %s: bad JSON: %v", path, err)
	}
	return nil
}

// ---------------------------------------------------------------- keys and checkpoints

// publicKeyFromVkey returns the Ed25519 key of a note verifier key
// <name>+<hex id>+<base64(0x01 || key)>, after note.NewVerifier has accepted it.
func publicKeyFromVkey(vkey string) (ed25519.PublicKey, error) {
	// The name and the hex id hold no '+'; the base64 key may.
	_, rest, ok1 := strings.Cut(vkey, "+")
	_, key, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return nil, errors.New("not <name>+<hex id>+<base64 key>")
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, err
	}
	if len(raw) != 1+ed25519.PublicKeySize || raw[0] != 1 {
		return nil, fmt.Errorf("not an Ed25519 (alg 1) key: %d bytes", len(raw))
	}
	return ed25519.PublicKey(raw[1:]), nil
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
	extra  []string
	note   *note.Note
	text   string
}

// openCheckpoint verifies a signed note with the log key (note.Open) and parses the
// C2SP tlog-checkpoint body "<origin>\n<size>\n<base64 root>\n[extension lines]".
func openCheckpoint(text []byte, verifiers note.Verifiers, origin string) (*checkpoint, error) {
	n, err := note.Open(text, verifiers)
	if err != nil {
		return nil, fmt.Errorf("note.Open: %v", err)
	}
	if len(n.Sigs) == 0 {
		return nil, errors.New("note.Open: no verified signature")
	}
	lines := strings.Split(n.Text, "\n")
	// n.Text ends in "\n", so the last element is empty.
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("checkpoint body has %d lines, want at least 3", len(lines)-1)
	}
	c := &checkpoint{note: n, text: string(text)}
	c.origin = lines[0]
	if c.origin != origin {
		return nil, fmt.Errorf("checkpoint origin %q is not the key name %q", c.origin, origin)
	}
	c.size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || c.size < 0 || strconv.FormatInt(c.size, 10) != lines[1] {
		return nil, fmt.Errorf("checkpoint size %q is not a canonical decimal", lines[1])
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return nil, fmt.Errorf("checkpoint root %q is not 32 bytes of canonical base64", lines[2])
	}
	copy(c.root[:], root)
	c.extra = lines[3 : len(lines)-1]
	return c, nil
}

// ---------------------------------------------------------------- tiles

// c2spTilePath is the C2SP tlog-tiles path of a hash tile: Go's Tile.Path() is
// "tile/<H>/<L>/<N>[.p/<W>]"; C2SP drops the height element.
func c2spTilePath(t tlog.Tile) string {
	p := t.Path()
	prefix := fmt.Sprintf("tile/%d/", t.H)
	if !strings.HasPrefix(p, prefix) || t.L < 0 {
		panic("unexpected tile path " + p)
	}
	return "/tile/" + strings.TrimPrefix(p, prefix)
}

// entryBundlePath is the C2SP path of entry bundle n of width w (w == 256: full).
// The N encoding is the same as for hash tiles, so it is taken from a level-0 tlog.Tile.
func entryBundlePath(n int64, w int) string {
	t := tlog.Tile{H: tileHeight, L: 0, N: n, W: w}
	return "/tile/entries/" + strings.TrimPrefix(c2spTilePath(t), "/tile/0/")
}

// httpTileReader is a tlog.TileReader over the C2SP tile paths of the log.
type httpTileReader struct {
	cache map[tlog.Tile][]byte
	saved int
}

func (r *httpTileReader) Height() int { return tileHeight }

func (r *httpTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if d, ok := r.cache[t]; ok {
			out[i] = d
			continue
		}
		body, _, err := get(c2spTilePath(t))
		if err != nil {
			return nil, err
		}
		out[i] = body
		r.cache[t] = body
	}
	return out, nil
}

func (r *httpTileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) { r.saved += len(tiles) }

// readEntryBundle fetches and parses an entry bundle: entries as big-endian uint16
// length || bytes, concatenated.
func readEntryBundle(n int64, w int) ([][]byte, error) {
	body, _, err := get(entryBundlePath(n, w))
	if err != nil {
		return nil, err
	}
	var entries [][]byte
	for len(body) > 0 {
		if len(body) < 2 {
			return nil, errors.New("entry bundle: truncated length")
		}
		l := int(binary.BigEndian.Uint16(body))
		if len(body) < 2+l {
			return nil, errors.New("entry bundle: truncated entry")
		}
		entries = append(entries, body[2:2+l])
		body = body[2+l:]
	}
	if len(entries) != w {
		return nil, fmt.Errorf("entry bundle %s holds %d entries, want %d", entryBundlePath(n, w), len(entries), w)
	}
	return entries, nil
}

// memHashes is a tlog.HashReader over stored hashes Go computed itself.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("stored hash %d not computed", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func b64(h []byte) string { return base64.StdEncoding.EncodeToString(h) }

func decodeHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("proof element %d %q is not a base64 32-byte hash", i, s)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// xmodVersion is the golang.org/x/mod version built in, and where its source came from.
func xmodVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "golang.org/x/mod" {
				if d.Replace != nil {
					return d.Version + " from " + d.Replace.Path
				}
				return d.Version
			}
		}
	}
	return "(unknown version)"
}

func jsonInt(n json.Number) (int64, error) {
	s := strings.Trim(string(n), `"`)
	return strconv.ParseInt(s, 10, 64)
}

// ---------------------------------------------------------------- main

func main() {
	if len(os.Args) > 1 && os.Args[1] == "submit" {
		runSubmit(os.Args[2:])
		return
	}
	vkey := flag.String("vkey", "", "the log's note verifier key <origin>+<hex id>+<base64>")
	token := flag.String("token", "", "a submitter token: POST an entry and verify the receipt")
	oldFile := flag.String("old-checkpoint", "", "a checkpoint saved earlier: check consistency with it")
	posts := flag.Int("post", 3, "entries to POST (with -token) and verify the receipts of")
	flag.StringVar(&logURL, "log", "", "the log's base URL")
	flag.Parse()
	if logURL == "" || *vkey == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: interop-go -log URL -vkey VKEY [-token SUBMITTER] [-old-checkpoint FILE] [-post N]")
		os.Exit(2)
	}
	logURL = strings.TrimSuffix(logURL, "/")
	fmt.Printf("interop-go: %s, golang.org/x/mod %s (sumdb/note, sumdb/tlog), crypto/ed25519\n", runtime.Version(), xmodVersion())

	// ---- the key
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fatal("note.NewVerifier(vkey): %v", err)
	}
	pub, err := publicKeyFromVkey(*vkey)
	if err != nil {
		fatal("vkey Ed25519 public key: %v", err)
	}
	ok("note.NewVerifier accepts the vkey (name %q, key id %08x)", verifier.Name(), verifier.KeyHash())
	verifiers := note.VerifierList(verifier)
	origin := verifier.Name()

	// ---- the checkpoint
	body, resp, err := get("/checkpoint")
	if err != nil {
		fatal("GET /checkpoint: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		fail("GET /checkpoint Content-Type %q is not text/plain", ct)
	}
	cp, err := openCheckpoint(body, verifiers, origin)
	if err != nil {
		fatal("checkpoint: %v", err)
	}
	ok("checkpoint: note.Open verifies the log signature; origin %q, size %d, root %s, %d extension lines, %d other signatures",
		cp.origin, cp.size, b64(cp.root[:]), len(cp.extra), len(cp.note.UnverifiedSigs))
	size, root := cp.size, cp.root
	if size < 1 {
		fatal("the log is empty: submit entries first")
	}

	// Negative controls, so that the checks above cannot pass vacuously: a checkpoint with a
	// changed size must not verify, nor must the checkpoint verify with another key of the same name.
	{
		tampered := bytes.Replace(body, []byte(fmt.Sprintf("\n%d\n", size)), []byte(fmt.Sprintf("\n%d\n", size+1)), 1)
		_, err1 := note.Open(tampered, verifiers)
		otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
		otherSkey, err2 := note.NewEd25519VerifierKey(origin, otherPub)
		var other note.Verifier
		if err2 == nil {
			other, err2 = note.NewVerifier(otherSkey)
		}
		if err2 == nil {
			_, err2 = note.Open(body, note.VerifierList(other))
		}
		var unverified *note.UnverifiedNoteError
		switch {
		case err1 == nil:
			fail("negative control: a checkpoint with its size changed still verifies")
		case !errors.As(err2, &unverified):
			fail("negative control: the checkpoint verifies with another key of the same name (err %v)", err2)
		default:
			ok("negative control: note.Open rejects the checkpoint with its size changed (%v) and under another key named %q (%v)", err1, origin, err2)
		}
	}

	// ---- tiles: tlog.TileHashReader authenticates every tile against the checkpoint root.
	tr := &httpTileReader{cache: map[tlog.Tile][]byte{}}
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tr)
	th, err := tlog.TreeHash(size, hr)
	if err == nil && th != root {
		err = fmt.Errorf("tlog.TreeHash = %s, checkpoint root %s", b64(th[:]), b64(root[:]))
	}
	check(fmt.Sprintf("tiles: tlog.TreeHash(%d, TileHashReader) equals the checkpoint root (%d tiles fetched)", size, len(tr.cache)), err)

	// ---- every entry bundle, every leaf hash, every tile, recomputed by Go from the entries.
	var entries [][]byte
	for n := int64(0); n*256 < size; n++ {
		w := 256
		if rest := size - n*256; rest < 256 {
			w = int(rest)
		}
		es, err := readEntryBundle(n, w)
		if err != nil {
			fatal("entry bundle %d: %v", n, err)
		}
		entries = append(entries, es...)
	}
	ok("entry bundles: %d bundles parse as uint16-length-prefixed entries, %d entries in all", (size+255)/256, len(entries))
	{
		// Every partial width of the last bundle (what a client at an older size asks for) is
		// served and holds the first W entries.
		last := (size - 1) / 256
		var err error
		maxW := int(size - last*256)
		for w := 1; w < maxW && err == nil; w++ {
			var es [][]byte
			es, err = readEntryBundle(last, w)
			for k := 0; err == nil && k < w; k++ {
				if !bytes.Equal(es[k], entries[last*256+int64(k)]) {
					err = fmt.Errorf("%s: entry %d differs", entryBundlePath(last, w), k)
				}
			}
		}
		check(fmt.Sprintf("entry bundles: bundle %d is served at every partial width 1..%d as a prefix", last, maxW-1), err)
	}
	var stored memHashes
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, stored)
		if err != nil {
			fatal("tlog.StoredHashes(%d): %v", i, err)
		}
		stored = append(stored, hs...)
	}
	th, err = tlog.TreeHash(size, stored)
	if err == nil && th != root {
		err = fmt.Errorf("Go's root of the entries = %s, checkpoint root %s", b64(th[:]), b64(root[:]))
	}
	check(fmt.Sprintf("entries: tlog.StoredHashes over all %d entries gives the checkpoint root", size), err)

	allTiles := tlog.NewTiles(tileHeight, 0, size)
	raw := &httpTileReader{cache: map[tlog.Tile][]byte{}}
	var tileErr error
	levels := map[int]int{}
	for _, t := range allTiles {
		want, err := tlog.ReadTileData(t, stored)
		if err != nil {
			tileErr = fmt.Errorf("tlog.ReadTileData(%s): %v", c2spTilePath(t), err)
			break
		}
		got, err := raw.ReadTiles([]tlog.Tile{t})
		if err != nil {
			tileErr = err
			break
		}
		if !bytes.Equal(got[0], want) {
			tileErr = fmt.Errorf("%s: %d bytes served differ from the %d bytes Go computes", c2spTilePath(t), len(got[0]), len(want))
			break
		}
		levels[t.L]++
	}
	check(fmt.Sprintf("tiles: all %d tiles of tlog.NewTiles(8, 0, %d) (full tiles and every partial width) are byte-identical to tlog.ReadTileData (tiles per level %v)", len(allTiles), size, levels), tileErr)

	// C2SP paths: N in 3-digit groups with x prefixes. Beyond the tree is 404; a
	// non-canonical N (what tlog.ParseTilePath rejects) must not be served as a tile.
	{
		var err error
		beyond := tlog.Tile{H: tileHeight, L: 0, N: 1000 + size/256, W: 256}
		for _, probe := range []struct {
			path string
			want int
		}{
			{c2spTilePath(beyond), 404},
			{"/tile/0/1000", 400},
			{"/tile/0/x000/000", 400},
			{"/tile/0/000.p/256", 400},
			{"/tile/0/000.p/0", 400},
		} {
			_, resp, gerr := get(probe.path)
			if resp == nil {
				err = gerr
				break
			}
			if resp.StatusCode != probe.want {
				err = fmt.Errorf("GET %s: %s, want %d", probe.path, resp.Status, probe.want)
				break
			}
		}
		check(fmt.Sprintf("tile paths: %s (x-grouped, beyond the tree) is 404; non-canonical 1000, x000/000, .p/256, .p/0 are 400", c2spTilePath(beyond)), err)
	}

	// ---- inclusion proofs from tiles, for several indexes
	// Edge cases among the entries (run.sh's feeder makes them): the first empty entry, the
	// first 65,535-byte entry, and the first entry whose leaf hash repeats an earlier one.
	var edge []int64
	var edgeDesc []string
	{
		seen := map[tlog.Hash]int64{}
		empty, big, dup := false, false, false
		for i, e := range entries {
			if !empty && len(e) == 0 {
				empty = true
				edge = append(edge, int64(i))
				edgeDesc = append(edgeDesc, fmt.Sprintf("%d empty", i))
			}
			if !big && len(e) == 65535 {
				big = true
				edge = append(edge, int64(i))
				edgeDesc = append(edgeDesc, fmt.Sprintf("%d of 65,535 bytes", i))
			}
			h := tlog.RecordHash(e)
			if j, ok := seen[h]; ok && !dup {
				dup = true
				edge = append(edge, j, int64(i))
				edgeDesc = append(edgeDesc, fmt.Sprintf("%d duplicate of %d", i, j))
			} else if !ok {
				seen[h] = int64(i)
			}
		}
	}
	idx := indexes(size, edge...)
	if len(edgeDesc) > 0 {
		fmt.Printf("     (edge-case entries: %s)\n", strings.Join(edgeDesc, ", "))
	}
	var proofErr error
	for _, i := range idx {
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			proofErr = fmt.Errorf("tlog.ProveRecord(%d, %d): %v", size, i, err)
			break
		}
		if err := tlog.CheckRecord(p, size, root, i, tlog.RecordHash(entries[i])); err != nil {
			proofErr = fmt.Errorf("tlog.CheckRecord(index %d of %d): %v", i, size, err)
			break
		}
	}
	check(fmt.Sprintf("inclusion: tlog.ProveRecord from tiles + tlog.CheckRecord with the bundle entry, indexes %v", idx), proofErr)

	// ---- consistency with an older checkpoint
	var old *checkpoint
	if *oldFile != "" {
		text, err := os.ReadFile(*oldFile)
		if err != nil {
			fatal("reading %s: %v", *oldFile, err)
		}
		old, err = openCheckpoint(text, verifiers, origin)
		if err != nil {
			fatal("old checkpoint %s: %v", *oldFile, err)
		}
		ok("old checkpoint: note.Open verifies it; size %d, root %s", old.size, b64(old.root[:]))
		if old.size < 1 || old.size > size {
			fail("old checkpoint size %d is not in [1, %d]", old.size, size)
		} else {
			p, err := tlog.ProveTree(size, old.size, hr)
			if err == nil {
				err = tlog.CheckTree(p, size, root, old.size, old.root)
			}
			check(fmt.Sprintf("consistency: tlog.ProveTree from tiles + tlog.CheckTree from old size %d to %d (%d hashes)", old.size, size, len(p)), err)

			// A client still at the old size reads the tiles of that size (partial tiles
			// that are now prefixes of larger or full tiles) and proves inclusion in it.
			otr := &httpTileReader{cache: map[tlog.Tile][]byte{}}
			ohr := tlog.TileHashReader(tlog.Tree{N: old.size, Hash: old.root}, otr)
			th, err := tlog.TreeHash(old.size, ohr)
			if err == nil && th != old.root {
				err = errors.New("tlog.TreeHash differs from the old root")
			}
			for _, i := range indexes(old.size) {
				if err != nil {
					break
				}
				var rp tlog.RecordProof
				rp, err = tlog.ProveRecord(old.size, i, ohr)
				if err == nil {
					err = tlog.CheckRecord(rp, old.size, old.root, i, tlog.RecordHash(entries[i]))
				}
			}
			check(fmt.Sprintf("old size: tiles of the tree of size %d (%d fetched) give its root and inclusion proofs for indexes %v", old.size, len(otr.cache), indexes(old.size)), err)
		}
	}

	// ---- /ct/v1/get-sth
	var sth struct {
		TreeSize          json.Number `json:"tree_size"`
		Timestamp         json.Number `json:"timestamp"`
		SHA256RootHash    string      `json:"sha256_root_hash"`
		TreeHeadSignature string      `json:"tree_head_signature"`
	}
	if err := getJSON("/ct/v1/get-sth", &sth); err != nil {
		fail("get-sth: %v", err)
	} else {
		check("get-sth: RFC 6962 TreeHeadSignature in a DigitallySigned (ed25519 0x0807) verifies with crypto/ed25519 and the vkey's key",
			checkSTH(pub, sth.TreeSize, sth.Timestamp, sth.SHA256RootHash, sth.TreeHeadSignature, size, root))
	}

	// ---- /ct/v1/get-sth-consistency against roots Go computed for every size
	pairs := [][2]int64{{1, size}, {size, size}}
	if old != nil {
		pairs = append(pairs, [2]int64{old.size, size})
	}
	for _, m := range idx {
		if m >= 1 {
			pairs = append(pairs, [2]int64{m, size})
		}
	}
	pairs = append(pairs, [2]int64{256, 512}, [2]int64{3, 257}, [2]int64{255, size - 1})
	var ctConsErr error
	checked := 0
	for _, pr := range pairs {
		m, n := pr[0], pr[1]
		if m < 1 || m > n || n > size {
			continue
		}
		var ans struct {
			Consistency []string `json:"consistency"`
		}
		if err := getJSON(fmt.Sprintf("/ct/v1/get-sth-consistency?first=%d&second=%d", m, n), &ans); err != nil {
			ctConsErr = err
			break
		}
		p, err := decodeHashes(ans.Consistency)
		if err != nil {
			ctConsErr = err
			break
		}
		rm, _ := tlog.TreeHash(m, stored)
		rn, _ := tlog.TreeHash(n, stored)
		if err := tlog.CheckTree(tlog.TreeProof(p), n, rn, m, rm); err != nil {
			ctConsErr = fmt.Errorf("tlog.CheckTree(first=%d, second=%d): %v", m, n, err)
			break
		}
		gp, _ := tlog.ProveTree(n, m, stored)
		if !sameHashes(p, gp) {
			ctConsErr = fmt.Errorf("first=%d second=%d: proof differs from tlog.ProveTree", m, n)
			break
		}
		checked++
	}
	check(fmt.Sprintf("get-sth-consistency: %d proofs pass tlog.CheckTree and equal tlog.ProveTree", checked), ctConsErr)

	// ---- /ct/v1/get-proof-by-hash, get-entry-and-proof, get-entries
	var byHashErr error
	for _, i := range idx {
		h := tlog.RecordHash(entries[i])
		var ans struct {
			LeafIndex json.Number `json:"leaf_index"`
			AuditPath []string    `json:"audit_path"`
		}
		err := getJSON(fmt.Sprintf("/ct/v1/get-proof-by-hash?hash=%s&tree_size=%d", url.QueryEscape(b64(h[:])), size), &ans)
		if err != nil {
			byHashErr = err
			break
		}
		li, err := jsonInt(ans.LeafIndex)
		if err != nil {
			byHashErr = fmt.Errorf("leaf_index %q: %v", ans.LeafIndex, err)
			break
		}
		if li != i && !bytes.Equal(entries[li], entries[i]) {
			byHashErr = fmt.Errorf("hash of entry %d: leaf_index %d", i, li)
			break
		}
		p, err := decodeHashes(ans.AuditPath)
		if err != nil {
			byHashErr = err
			break
		}
		if err := tlog.CheckRecord(tlog.RecordProof(p), size, root, li, h); err != nil {
			byHashErr = fmt.Errorf("tlog.CheckRecord(leaf_index %d): %v", li, err)
			break
		}
		gp, _ := tlog.ProveRecord(size, li, stored)
		if !sameHashes(p, gp) {
			byHashErr = fmt.Errorf("leaf_index %d: audit_path differs from tlog.ProveRecord", li)
			break
		}
	}
	check(fmt.Sprintf("get-proof-by-hash: audit paths for indexes %v pass tlog.CheckRecord and equal tlog.ProveRecord", idx), byHashErr)

	var eapErr error
	for _, i := range idx {
		var ans struct {
			LeafInput string   `json:"leaf_input"`
			ExtraData string   `json:"extra_data"`
			AuditPath []string `json:"audit_path"`
		}
		if err := getJSON(fmt.Sprintf("/ct/v1/get-entry-and-proof?leaf_index=%d&tree_size=%d", i, size), &ans); err != nil {
			eapErr = err
			break
		}
		e, err := base64.StdEncoding.DecodeString(ans.LeafInput)
		if err != nil || !bytes.Equal(e, entries[i]) {
			eapErr = fmt.Errorf("leaf_index %d: leaf_input is not the bundle entry", i)
			break
		}
		p, err := decodeHashes(ans.AuditPath)
		if err == nil {
			err = tlog.CheckRecord(tlog.RecordProof(p), size, root, i, tlog.RecordHash(e))
		}
		if err != nil {
			eapErr = fmt.Errorf("leaf_index %d: %v", i, err)
			break
		}
	}
	check("get-entry-and-proof: leaf_input equals the bundle entry and audit_path passes tlog.CheckRecord", eapErr)

	var geErr error
	got := int64(0)
	for start := int64(0); start < size && geErr == nil; {
		var ans struct {
			Entries []struct {
				LeafInput string `json:"leaf_input"`
			} `json:"entries"`
		}
		if err := getJSON(fmt.Sprintf("/ct/v1/get-entries?start=%d&end=%d", start, size-1), &ans); err != nil {
			geErr = err
			break
		}
		if len(ans.Entries) == 0 {
			geErr = fmt.Errorf("get-entries start=%d: no entries", start)
			break
		}
		for k, e := range ans.Entries {
			b, err := base64.StdEncoding.DecodeString(e.LeafInput)
			if err != nil || !bytes.Equal(b, entries[start+int64(k)]) {
				geErr = fmt.Errorf("entry %d differs from its entry bundle", start+int64(k))
				break
			}
		}
		start += int64(len(ans.Entries))
		got = start
	}
	check(fmt.Sprintf("get-entries: all %d leaf_input equal the entry bundles", got), geErr)

	// ---- receipts from POST /v1/entries
	if *token != "" {
		prev := cp
		for k := 0; k < *posts; k++ {
			entry := make([]byte, 20+k*37)
			rand.Read(entry)
			entry = append([]byte(fmt.Sprintf("interop-go receipt %d ", k)), entry...)
			r, err := checkReceipt(*token, entry, verifiers, origin, prev)
			check(fmt.Sprintf("receipt %d: %s", k, r), err)
		}
		// The checkpoint now served must be consistent with the one fetched first.
		body, _, err := get("/checkpoint")
		if err == nil {
			var now *checkpoint
			now, err = openCheckpoint(body, verifiers, origin)
			if err == nil {
				hr2 := tlog.TileHashReader(tlog.Tree{N: now.size, Hash: now.root}, &httpTileReader{cache: map[tlog.Tile][]byte{}})
				var p tlog.TreeProof
				p, err = tlog.ProveTree(now.size, size, hr2)
				if err == nil {
					err = tlog.CheckTree(p, now.size, now.root, size, root)
				}
				if err == nil {
					ok("consistency: new checkpoint (size %d) is consistent with the first one (size %d), proof from its tiles", now.size, size)
				}
			}
		}
		if err != nil {
			fail("consistency after the receipts: %v", err)
		}
	}

	fmt.Printf("interop-go: %d HTTP requests\n", fetches)
	fmt.Printf("%d passed, %d failed\n", passes, failures)
	if failures > 0 {
		os.Exit(1)
	}
}

// indexes picks leaf indexes around tile boundaries, the first and last, and any extra ones.
func indexes(size int64, extra ...int64) []int64 {
	cand := append(extra, []int64{0, 1, 2, 127, 255, 256, 257, 511, 512, 767, 1000, 65535, 65536, 65537, 255999, 256000, 256001, size / 3, size / 2, size - 2, size - 1}...)
	seen := map[int64]bool{}
	var out []int64
	for _, i := range cand {
		if i >= 0 && i < size && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// checkSTH verifies an RFC 6962 get-sth answer: the signature is a TLS DigitallySigned
// (SignatureScheme ed25519 = 0x0807, uint16 length, 64-byte signature) over
// TreeHeadSignature{version v1 = 0, signature_type tree_hash = 1, uint64 timestamp,
// uint64 tree_size, opaque root[32]}.
func checkSTH(pub ed25519.PublicKey, sizeN, tsN json.Number, rootB64, sigB64 string, cpSize int64, cpRoot tlog.Hash) error {
	size, err := jsonInt(sizeN)
	if err != nil {
		return fmt.Errorf("tree_size %q: %v", sizeN, err)
	}
	ts, err := strconv.ParseUint(string(tsN), 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %v", tsN, err)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(rootB64)
	if err != nil || len(root) != 32 {
		return fmt.Errorf("sha256_root_hash %q is not 32 bytes of base64", rootB64)
	}
	ds, err := base64.StdEncoding.Strict().DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("tree_head_signature: %v", err)
	}
	if len(ds) != 4+ed25519.SignatureSize || ds[0] != 0x08 || ds[1] != 0x07 || binary.BigEndian.Uint16(ds[2:]) != ed25519.SignatureSize {
		return fmt.Errorf("tree_head_signature is not DigitallySigned{0x0807, 64-byte sig}: %s", hex.EncodeToString(ds[:min(4, len(ds))]))
	}
	msg := make([]byte, 0, 50)
	msg = append(msg, 0, 1)
	msg = binary.BigEndian.AppendUint64(msg, ts)
	msg = binary.BigEndian.AppendUint64(msg, uint64(size))
	msg = append(msg, root...)
	if !ed25519.Verify(pub, msg, ds[4:]) {
		return errors.New("crypto/ed25519.Verify fails")
	}
	// Negative control: the same signature must not cover another tree size.
	bad := append([]byte(nil), msg...)
	binary.BigEndian.PutUint64(bad[10:], uint64(size)+1)
	if ed25519.Verify(pub, bad, ds[4:]) {
		return errors.New("negative control: the signature also verifies for tree_size+1")
	}
	if now := uint64(time.Now().UnixMilli()); ts > now+60_000 || ts < now-86_400_000 {
		return fmt.Errorf("timestamp %d ms is not within a day of now (%d)", ts, now)
	}
	if size == cpSize && !bytes.Equal(root, cpRoot[:]) {
		return fmt.Errorf("STH root differs from the checkpoint root at the same size %d", size)
	}
	if size < cpSize {
		return fmt.Errorf("STH size %d is older than the checkpoint's %d", size, cpSize)
	}
	fmt.Printf("     (get-sth: tree_size %d, timestamp %d)\n", size, ts)
	return nil
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// checkReceipt POSTs an entry and verifies the receipt with Go's note and tlog code only:
// the checkpoint with note.Open, the inclusion proof with tlog.CheckRecord, the proof equal to
// tlog.ProveRecord over the log's tiles at that size (same sibling order as RFC 6962's
// PATH: leaf side first), and consistency with the previous checkpoint.
func checkReceipt(token string, entry []byte, verifiers note.Verifiers, origin string, prev *checkpoint) (string, error) {
	var body []byte
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest("POST", logURL+"/v1/entries", bytes.NewReader(entry))
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		fetches++
		resp, err := client.Do(req)
		if err != nil {
			return "POST /v1/entries", err
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && attempt < 5 {
			time.Sleep(time.Second)
			continue
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
			return "POST /v1/entries", fmt.Errorf("%s: %s", resp.Status, body)
		}
		break
	}
	var rc struct {
		Origin         string      `json:"origin"`
		Index          json.Number `json:"index"`
		TreeSize       json.Number `json:"tree_size"`
		LeafHash       string      `json:"leaf_hash"`
		InclusionProof []string    `json:"inclusion_proof"`
		Checkpoint     string      `json:"checkpoint"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&rc); err != nil {
		return "POST /v1/entries", fmt.Errorf("bad JSON: %v", err)
	}
	index, err := jsonInt(rc.Index)
	if err != nil {
		return "receipt", fmt.Errorf("index %q: %v", rc.Index, err)
	}
	desc := fmt.Sprintf("index %d", index)
	size, err := jsonInt(rc.TreeSize)
	if err != nil {
		return desc, fmt.Errorf("tree_size %q: %v", rc.TreeSize, err)
	}
	desc = fmt.Sprintf("index %d, tree_size %d, %d proof hashes", index, size, len(rc.InclusionProof))
	cp, err := openCheckpoint([]byte(rc.Checkpoint), verifiers, origin)
	if err != nil {
		return desc, fmt.Errorf("receipt checkpoint: %v", err)
	}
	if rc.Origin != cp.origin {
		return desc, fmt.Errorf("origin %q, checkpoint origin %q", rc.Origin, cp.origin)
	}
	if cp.size != size {
		return desc, fmt.Errorf("tree_size %d, checkpoint size %d", size, cp.size)
	}
	leaf := tlog.RecordHash(entry)
	if rc.LeafHash != b64(leaf[:]) {
		return desc, fmt.Errorf("leaf_hash %s, Go's tlog.RecordHash %s", rc.LeafHash, b64(leaf[:]))
	}
	p, err := decodeHashes(rc.InclusionProof)
	if err != nil {
		return desc, err
	}
	if err := tlog.CheckRecord(tlog.RecordProof(p), size, cp.root, index, leaf); err != nil {
		return desc, fmt.Errorf("tlog.CheckRecord: %v", err)
	}
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: cp.root}, &httpTileReader{cache: map[tlog.Tile][]byte{}})
	gp, err := tlog.ProveRecord(size, index, hr)
	if err != nil {
		return desc, fmt.Errorf("tlog.ProveRecord over the tiles of size %d: %v", size, err)
	}
	if !sameHashes(p, gp) {
		return desc, errors.New("inclusion_proof is not in tlog.RecordProof order (or differs)")
	}
	bundle, err := readEntryBundle(index/256, int(min64(256, size-index/256*256)))
	if err != nil {
		return desc, err
	}
	if !bytes.Equal(bundle[index%256], entry) {
		return desc, errors.New("the entry bundle does not hold the posted entry at its index")
	}
	if prev != nil && prev.size <= size {
		tp, err := tlog.ProveTree(size, prev.size, hr)
		if err == nil {
			err = tlog.CheckTree(tp, size, cp.root, prev.size, prev.root)
		}
		if err != nil {
			return desc, fmt.Errorf("consistency with the checkpoint of size %d: %v", prev.size, err)
		}
	}
	return desc + ": note.Open + tlog.CheckRecord ok, proof == tlog.ProveRecord from tiles, entry in its bundle, consistent with first checkpoint", nil
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
