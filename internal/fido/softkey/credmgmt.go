package softkey

import (
	"bytes"
	"crypto/sha256"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// credentialManagement subcommands.
const (
	cmGetCredsMetadata    = 0x01
	cmEnumerateRPsBegin   = 0x02
	cmEnumerateRPsNext    = 0x03
	cmEnumerateCredsBegin = 0x04
	cmEnumerateCredsNext  = 0x05
	cmDeleteCredential    = 0x06
)

func (k *Key) credMgmt(p params) (any, error) {
	var sub, protoVer uint64
	var pinParam []byte
	if err := p.need(1, &sub); err != nil {
		return nil, err
	}
	rawSub := []byte(p[2])
	sp, err := parseParams(rawSub)
	if err != nil {
		return nil, err
	}
	hasProto, err := p.get(3, &protoVer)
	if err != nil {
		return nil, err
	}
	hasParam, err := p.get(4, &pinParam)
	if err != nil {
		return nil, err
	}
	if sub != cmEnumerateRPsNext {
		k.rpEnum = nil
	}
	if sub != cmEnumerateCredsNext {
		k.credEnum = nil
	}
	// authorize checks pinUvAuthParam over subCommand || subCommandParams.
	authorize := func(rpID string) error {
		if !hasParam {
			return errPUATRequired
		}
		if !hasProto {
			return errMissingParameter
		}
		msg := append([]byte{byte(sub)}, rawSub...)
		return k.checkPinUvAuth(protoVer, pinParam, msg, permCredMgmt, rpID)
	}

	switch sub {
	case cmGetCredsMetadata:
		if err := authorize(""); err != nil {
			return nil, err
		}
		return map[int]any{1: len(k.st.Creds), 2: maxResidentCreds - len(k.st.Creds)}, nil

	case cmEnumerateRPsBegin:
		if err := authorize(""); err != nil {
			return nil, err
		}
		var rps []string
		for _, c := range k.st.Creds {
			if !slices.Contains(rps, c.RPID) {
				rps = append(rps, c.RPID)
			}
		}
		if len(rps) == 0 {
			return nil, errNoCredentials
		}
		k.rpEnum = rps[1:]
		resp := k.rpInfo(rps[0])
		resp[5] = len(rps)
		return resp, nil

	case cmEnumerateRPsNext:
		if len(k.rpEnum) == 0 {
			return nil, errNotAllowed
		}
		rpID := k.rpEnum[0]
		k.rpEnum = k.rpEnum[1:]
		return k.rpInfo(rpID), nil

	case cmEnumerateCredsBegin:
		var hash []byte
		if err := sp.need(1, &hash); err != nil {
			return nil, err
		}
		var creds []*residentCred
		for _, c := range k.st.Creds {
			if h := sha256.Sum256([]byte(c.RPID)); bytes.Equal(h[:], hash) {
				creds = append(creds, c)
			}
		}
		rpID := ""
		if len(creds) > 0 {
			rpID = creds[0].RPID
		}
		if err := authorize(rpID); err != nil {
			return nil, err
		}
		if len(creds) == 0 {
			return nil, errNoCredentials
		}
		k.credEnum = creds[1:]
		resp, err := credInfo(creds[0])
		if err != nil {
			return nil, err
		}
		resp[9] = len(creds)
		return resp, nil

	case cmEnumerateCredsNext:
		if len(k.credEnum) == 0 {
			return nil, errNotAllowed
		}
		c := k.credEnum[0]
		k.credEnum = k.credEnum[1:]
		return credInfo(c)

	case cmDeleteCredential:
		var d credDescriptor
		if err := sp.need(2, &d); err != nil {
			return nil, err
		}
		i := slices.IndexFunc(k.st.Creds, func(c *residentCred) bool { return bytes.Equal(c.ID, d.ID) })
		rpID := ""
		if i >= 0 {
			rpID = k.st.Creds[i].RPID
		}
		if err := authorize(rpID); err != nil {
			return nil, err
		}
		if i < 0 {
			return nil, errNoCredentials
		}
		k.st.Creds = slices.Delete(k.st.Creds, i, i+1)
		return nil, nil
	}
	return nil, errInvalidSubcommand
}

func (k *Key) rpInfo(rpID string) map[int]any {
	name := ""
	for _, c := range k.st.Creds {
		if c.RPID == rpID && c.RPName != "" {
			name = c.RPName
		}
	}
	h := sha256.Sum256([]byte(rpID))
	return map[int]any{3: rpEntity{ID: rpID, Name: name}, 4: h[:]}
}

func credInfo(c *residentCred) (map[int]any, error) {
	cred := credentialFromResident(c)
	if cred == nil {
		return nil, errOther
	}
	pub, err := cosePublicKey(&cred.priv.PublicKey)
	if err != nil {
		return nil, errOther
	}
	return map[int]any{
		6:  userEntity{ID: c.UserID, Name: c.UserName, DisplayName: c.DisplayName},
		7:  credDescriptor{Type: "public-key", ID: c.ID},
		8:  cbor.RawMessage(pub),
		10: 1, // credProtect: userVerificationOptional
	}, nil
}
