// zkmargin-rapidsnark: a long-lived helper process that makes Groth16 proofs with
// rapidsnark (iden3's prebuilt static library, through the go-rapidsnark prover module).
//
// rapidsnark is GPL/LGPL-3.0 licensed, so it lives in this separate binary and is never
// linked into the Python process. The protocol is the node worker's: one JSON request per
// line on stdin, one JSON reply per line on stdout.
//
//	(at start)                                       -> {"event": "ready"}
//	{"id": 1, "op": "ping"}                          -> {"id": 1, "ok": true, "result": {...}}
//	{"id": 2, "op": "prove", "zkey": P, "wtns": W}   -> {"id": 2, "ok": true, "result":
//	    {"proof": {...}, "publicSignals": [...], "prove_ms": 812.5, "key_load_ms": 0}}
//	{"id": 3, "op": "shutdown"}
//
// A proving key is read once per file (path, size and modification time) and kept in
// memory for every later proof. Errors come back as {"ok": false, "error": "..."}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/iden3/go-rapidsnark/prover"
)

type request struct {
	ID   int64  `json:"id"`
	Op   string `json:"op"`
	Zkey string `json:"zkey"`
	Wtns string `json:"wtns"`
}

type reply struct {
	ID     int64       `json:"id"`
	OK     bool        `json:"ok"`
	Result interface{} `json:"result,omitempty"`
	Error  string      `json:"error,omitempty"`
}

type loadedKey struct {
	size    int64
	modTime time.Time
	data    []byte
}

var keys = map[string]loadedKey{}

// key returns the bytes of the zkey at path, read once per file version, and how long
// reading took (0 when it was already loaded).
func key(path string) ([]byte, float64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if k, ok := keys[path]; ok && k.size == info.Size() && k.modTime.Equal(info.ModTime()) {
		return k.data, 0, nil
	}
	started := time.Now()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	keys[path] = loadedKey{size: info.Size(), modTime: info.ModTime(), data: data}
	return data, float64(time.Since(started).Microseconds()) / 1000, nil
}

func prove(req request) (interface{}, error) {
	zkey, loadMs, err := key(req.Zkey)
	if err != nil {
		return nil, fmt.Errorf("cannot read the proving key: %w", err)
	}
	wtns, err := os.ReadFile(req.Wtns)
	if err != nil {
		return nil, fmt.Errorf("cannot read the witness: %w", err)
	}
	started := time.Now()
	proofJSON, publicJSON, err := prover.Groth16ProverRaw(zkey, wtns)
	if err != nil {
		return nil, err
	}
	proveMs := float64(time.Since(started).Microseconds()) / 1000
	var proof map[string]interface{}
	if err := json.Unmarshal([]byte(proofJSON), &proof); err != nil {
		return nil, fmt.Errorf("rapidsnark returned a proof that is not JSON: %w", err)
	}
	var public []string
	if err := json.Unmarshal([]byte(publicJSON), &public); err != nil {
		return nil, fmt.Errorf("rapidsnark returned public signals that are not JSON: %w", err)
	}
	return map[string]interface{}{
		"proof": proof, "publicSignals": public, "prove_ms": proveMs, "key_load_ms": loadMs,
	}, nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := json.NewEncoder(os.Stdout)
	_ = out.Encode(map[string]string{"event": "ready", "backend": "rapidsnark"})
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = out.Encode(reply{ID: -1, OK: false, Error: "bad request: " + err.Error()})
			continue
		}
		switch req.Op {
		case "ping":
			_ = out.Encode(reply{ID: req.ID, OK: true, Result: map[string]string{"backend": "rapidsnark"}})
		case "prove":
			result, err := prove(req)
			if err != nil {
				_ = out.Encode(reply{ID: req.ID, OK: false, Error: err.Error()})
			} else {
				_ = out.Encode(reply{ID: req.ID, OK: true, Result: result})
			}
		case "shutdown":
			_ = out.Encode(reply{ID: req.ID, OK: true})
			return
		default:
			_ = out.Encode(reply{ID: req.ID, OK: false, Error: "unknown op " + req.Op})
		}
	}
}
