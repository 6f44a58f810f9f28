package fido

import (
	"encoding/hex"
	"strings"
)

// SoftkeyAAGUID is the AAGUID of Countersign's software key
// (internal/fido/softkey).
const SoftkeyAAGUID = "612994a4-8f8e-420b-99f8-8d494e0836cd"

// UnknownModel is the model name of an AAGUID not in the table.
const UnknownModel = "unknown model"

// models names the AAGUIDs of common keys. The AAGUIDs and names are those of
// the FIDO Metadata Service as collected in
// github.com/passkeydeveloper/passkey-authenticator-aaguids
// (combined_aaguid.json); the form factors in brackets follow Yubico's
// "YubiKey hardware FIDO2 AAGUIDs" list
// (https://support.yubico.com/hc/en-us/articles/360016648959).
var models = map[string]string{
	SoftkeyAAGUID: "Countersign software key",

	// Yubico YubiKey 5.
	"cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5 Series (5, 5C, 5 Nano, 5C Nano; firmware 5.1)",
	"ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5 Series (5, 5C, 5 Nano, 5C Nano)",
	"19083c3d-8383-4b18-bc03-8f1c9ab2fd1b": "YubiKey 5 Series (5, 5C, 5 Nano, 5C Nano; firmware 5.7)",
	"20ac7a17-c814-4833-93fe-539f0d5e3389": "YubiKey 5 Series (Enterprise Profile)",
	"fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5 Series with NFC (5 NFC, 5C NFC)",
	"2fc0579f-8113-47ea-b116-bb5a8db9202a": "YubiKey 5 Series with NFC (5 NFC, 5C NFC)",
	"a25342c0-3cdc-4414-8e46-f4807fca511c": "YubiKey 5 Series with NFC (5 NFC, 5C NFC; firmware 5.7)",
	"1ac71f64-468d-4fe0-bef1-0e5f2f551f18": "YubiKey 5 Series with NFC (Enterprise Profile)",
	"c5ef55ff-ad9a-4b9f-b580-adebafe026d0": "YubiKey 5Ci",
	"a02167b9-ae71-4ac7-9a07-06432ebb6f1c": "YubiKey 5Ci (firmware 5.7)",
	"73bb0cd4-e502-49b8-9c6f-b59445bf720b": "YubiKey 5 FIPS Series",
	"c1f9a0bc-1dd2-404a-b27f-8e29047a43fd": "YubiKey 5 FIPS Series with NFC",
	"85203421-48f9-4355-9bc8-8a53846e5083": "YubiKey 5 FIPS Series with Lightning",

	// Yubico Security Key.
	"f8a011f3-8c0a-4d15-8006-17111f9edc7d": "Security Key by Yubico",
	"b92c3f9a-c014-4056-887f-140a2501163b": "Security Key by Yubico",
	"149a2021-8ef6-4133-96b8-81f8d5b7f1f5": "Security Key by Yubico with NFC",
	"6d44ba9b-f6ec-2e49-b930-0c8fe920cb73": "Security Key by Yubico with NFC",
	"e77e3c64-05e3-428b-8824-0cbeb04b829d": "Security Key NFC by Yubico",
	"a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa": "Security Key NFC by Yubico",
	"47ab2fb4-66ac-4184-9ae1-86be814012d5": "Security Key NFC by Yubico - Enterprise Edition",
	"0bb43545-fd2c-4185-87dd-feb0b2916ace": "Security Key NFC by Yubico - Enterprise Edition",

	// Yubico YubiKey Bio.
	"d8522d9f-575b-4866-88a9-ba99fa02f35b": "YubiKey Bio Series",
	"dd86a2da-86a0-4cbe-b462-4bd31f57bc6f": "YubiKey Bio FIDO Edition",
	"7d1351a6-e097-4852-b8bf-c9ac5c9ce4a3": "YubiKey Bio Series - Multi-protocol Edition",
	"90636e1f-ef82-43bf-bdcf-5255f139d12f": "YubiKey Bio Series - Multi-protocol Edition",

	// Google.
	"42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3": "Google Titan Security Key v2",

	// SoloKeys.
	"8876631b-d4a0-427f-5773-0ec71c9e0279": "Solo Secp256R1 FIDO2 CTAP2 Authenticator (SoloKey)",
	"8976631b-d4a0-427f-5773-0ec71c9e0279": "Solo Tap Secp256R1 FIDO2 CTAP2 Authenticator (SoloKey)",
	"9876631b-d4a0-427f-5773-0ec71c9e0279": "Somu Secp256R1 FIDO2 CTAP2 Authenticator (SoloKey)",

	// Nitrokey.
	"2cd2f727-f6ca-44da-8f48-5c2e5da000a2": "Nitrokey 3 AM",

	// Feitian.
	"12ded745-4bed-47d4-abaa-e713f51d6393": "Feitian AllinOne FIDO2 Authenticator",
	"77010bd7-212a-4fc9-b236-d2ca5e9d4084": "Feitian BioPass FIDO2 Authenticator",
	"b6ede29c-3772-412c-8a78-539c1f4c62d2": "Feitian BioPass FIDO2 Plus Authenticator",
	"4c0cf95d-2f40-43b5-ba42-4c83a11c04ba": "Feitian BioPass FIDO2 Pro Authenticator",
	"833b721a-ff5f-4d00-bb2e-bdda3ec01e29": "Feitian ePass FIDO2 Authenticator",
	"ee041bce-25e5-4cdb-8f86-897fd6418464": "Feitian ePass FIDO2-NFC Authenticator",
	"260e3021-482d-442d-838c-7edfbe153b7e": "Feitian ePass FIDO2-NFC Plus Authenticator",
	"234cd403-35a2-4cc2-8015-77ea280c77f5": "Feitian ePass FIDO2-NFC Series",
	"2c0df832-92de-4be1-8412-88a8f074df4a": "Feitian FIDO Smart Card",
	"3e22415d-7fdf-4ea4-8a0c-dd60c4249b9d": "Feitian iePass FIDO Authenticator",
}

// FormatAAGUID writes a 16-byte AAGUID in the usual 8-4-4-4-12 form, and
// anything else in plain hex.
func FormatAAGUID(b []byte) string {
	h := hex.EncodeToString(b)
	if len(b) != 16 {
		return h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ModelName names the key model of an AAGUID (either form), or returns
// UnknownModel. U2F-only keys and keys that hide their model report an
// all-zero AAGUID, which is unknown too.
func ModelName(aaguid string) string {
	if name, ok := models[strings.ToLower(aaguid)]; ok {
		return name
	}
	return UnknownModel
}
