package jsonlogreceiver // import "github.com/recobs/recobs/receivers/jsonlogreceiver"

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"os"

	"github.com/cespare/xxhash/v2"
)

// RecordUIDAttribute is the OTel semantic convention for a log record's identity: records
// with the same value are the same record, and a backend may drop the repeats. The
// Elasticsearch exporter uses it as the document _id, so a line read twice — after a crash,
// or from recsvc.log.1 after a rotation — is stored once.
const RecordUIDAttribute = "log.record.uid"

// fileIDKey is where the receiver keeps a file's identity among stanza's per-file attributes.
// Stanza persists those with the file's read offset and carries them along when it finds the
// file under another name (rename) or in a copy (copytruncate: same first line), so the
// identity survives restarts and rotations exactly as the offset does. It is never a record
// attribute.
const fileIDKey = "recobs.file.id"

// fileID identifies a file by its first line (at most limit bytes of it): unlike stanza's
// fingerprint, which grows with the file up to fingerprint_size, a first line never changes
// once written, so every read of the file — the first, a replay, a read of its rotated copy —
// derives the same identity. It is 0 when the first line is not complete yet.
func fileID(head []byte, limit int) uint64 {
	if i := bytes.IndexByte(head, '\n'); i >= 0 && i < limit {
		// Without a '\r' before the newline, as the file input hands the line on (a CRLF
		// file would otherwise have two identities, and its fully read backup, deleted,
		// would count as lost).
		head = dropCR(head[:i])
	} else if len(head) < limit {
		return 0
	} else {
		head = head[:limit]
	}
	return fileIDOfLine(head, limit)
}

// fileIDOfLine is fileID when the first line is known (without its newline).
func fileIDOfLine(first []byte, limit int) uint64 {
	if len(first) > limit {
		first = first[:limit]
	}
	if id := xxhash.Sum64(first); id != 0 {
		return id
	}
	return 1 // 0 means "not known yet"
}

// readFileID opens path and derives its identity from its first line.
func readFileID(path string, limit int) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return readFileIDFrom(f, limit)
}

func readFileIDFrom(f io.ReaderAt, limit int) (uint64, error) {
	head := make([]byte, limit)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return 0, err
	}
	return fileID(head[:n], limit), nil
}

// uidLen is the length of a record UID: base64url of file id (8 bytes), offset (6 bytes: up to
// 256 TiB) and the line's hash (8 bytes).
const uidLen = (22*8 + 5) / 6

// appendRecordUID appends the identity of the line at offset in file id to dst. The line's
// own hash keeps two files that share a first line apart unless they also hold the same line
// at the same offset — and two identical lines of one file apart by their offsets.
func appendRecordUID(dst []byte, id uint64, offset int64, line []byte) []byte {
	var raw [22]byte
	binary.BigEndian.PutUint64(raw[0:8], id)
	var off [8]byte
	binary.BigEndian.PutUint64(off[:], uint64(offset))
	copy(raw[8:14], off[2:])
	binary.BigEndian.PutUint64(raw[14:22], xxhash.Sum64(line))
	return base64.RawURLEncoding.AppendEncode(dst, raw[:])
}
