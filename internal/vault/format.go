package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// The file is a fixed header followed by the sealed contents:
//
//	magic   "CSVAULT"  7 bytes
//	version 1          1 byte
//	cipher  1          1 byte  (1 = XChaCha20-Poly1305)
//	id                 16 bytes, names the key in the keyring
//	nonce              24 bytes
//	ciphertext         JSON contents sealed with the whole header as additional data
const (
	magic         = "CSVAULT"
	formatVersion = 1
	cipherXChaCha = 1
	idSize        = 16
	headerSize    = len(magic) + 1 + 1 + idSize + chacha20poly1305.NonceSizeX
)

type header struct {
	id, nonce, raw []byte
}

func parseHeader(data []byte) (header, error) {
	if len(data) < headerSize || !bytes.HasPrefix(data, []byte(magic)) {
		return header{}, errors.New("not a Countersign vault file")
	}
	if v := data[len(magic)]; v != formatVersion {
		return header{}, fmt.Errorf("vault format version %d is newer than this Countersign understands; upgrade it", v)
	}
	if c := data[len(magic)+1]; c != cipherXChaCha {
		return header{}, fmt.Errorf("unknown vault cipher %d", c)
	}
	at := len(magic) + 2
	return header{
		id:    data[at : at+idSize],
		nonce: data[at+idSize : headerSize],
		raw:   data[:headerSize],
	}, nil
}

func seal(accounts []Account, id, key []byte, rand io.Reader) ([]byte, error) {
	plain, err := marshal(accounts)
	if err != nil {
		return nil, fmt.Errorf("encode vault: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, headerSize+len(plain)+aead.Overhead())
	out = append(out, magic...)
	out = append(out, formatVersion, cipherXChaCha)
	out = append(out, id...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	out = append(out, nonce...)
	sealed := aead.Seal(out, nonce, plain, out[:headerSize])
	clear(plain)
	return sealed, nil
}

func open(data []byte, h header, key []byte) ([]Account, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, h.nonce, data[headerSize:], h.raw)
	if err != nil {
		return nil, errors.New("decryption failed: the file is damaged or was sealed with another key")
	}
	defer clear(plain)
	return unmarshal(plain)
}
