// Package uainfo turns a User-Agent header into the few words people need
// to recognise a sign-in: which browser, on which operating system, on what
// kind of device ("Chrome 131 on Linux", a phone).
//
// It is for showing, never for deciding: a User-Agent is whatever the client
// chose to send, so nothing here may be used for security decisions.
package uainfo

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mileusna/useragent"
)

// MaxLen is how much of a User-Agent Parse reads; real ones are well under
// 300 bytes.
const MaxLen = 512

// Kinds of device.
const (
	Desktop = "desktop"
	Phone   = "phone"
	Tablet  = "tablet"
	TV      = "tv"
	Bot     = "bot" // crawlers, headless browsers, HTTP tools and libraries
	Unknown = "unknown"
)

// Info is what a User-Agent says, for people.
type Info struct {
	Browser string // name and major version: "Chrome 131", "Firefox 133", "Safari 17"; "" when unknown
	OS      string // "Linux", "Windows 10", "macOS 14.1", "Android 14", "iOS 17.2"; "" when unknown
	Kind    string // Desktop, Phone, Tablet, TV, Bot or Unknown
}

// String reads like "Chrome 131 on Linux", "Unknown browser on Android 14"
// or "Unknown browser".
func (i Info) String() string {
	b := i.Browser
	if b == "" {
		b = "Unknown browser"
	}
	if i.OS == "" {
		return b
	}
	return b + " on " + i.OS
}

// Parse reads a User-Agent header. Input longer than MaxLen bytes is cut
// first. It never fails: what it can't make out is left empty.
func Parse(ua string) Info {
	if len(ua) > MaxLen {
		ua = ua[:MaxLen]
	}
	ua = strings.ToValidUTF8(ua, "")
	u := useragent.Parse(ua)
	lower := strings.ToLower(ua)

	info := Info{Browser: browser(u), OS: osName(u, lower), Kind: Unknown}
	switch {
	case u.Bot || isTool(lower):
		info.Kind = Bot
	case isTV(u, lower):
		info.Kind = TV
	case u.OS == useragent.Android:
		// Chrome and most Android browsers leave "Mobile" out on tablets.
		if u.Tablet || !strings.Contains(ua, "Mobile") {
			info.Kind = Tablet
		} else {
			info.Kind = Phone
		}
	case u.Tablet:
		info.Kind = Tablet
	case u.Mobile:
		info.Kind = Phone
	case u.Desktop:
		info.Kind = Desktop
	}
	return info
}

func browser(u useragent.UserAgent) string {
	name := u.Name
	switch name {
	case useragent.MobileSafari:
		name = useragent.Safari
	}
	if !printable(name) {
		return ""
	}
	if major := majorVersion(u.Version); major != "" {
		return name + " " + major
	}
	return name
}

// majorVersion returns the leading number of a dotted version, or "".
func majorVersion(v string) string {
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.ParseUint(major, 10, 32); err == nil {
		return strconv.FormatUint(n, 10)
	}
	return ""
}

var windowsNT = map[string]string{
	"10.0": "10", // Windows 11 says 10.0 too
	"6.3":  "8.1",
	"6.2":  "8",
	"6.1":  "7",
	"6.0":  "Vista",
	"5.2":  "XP",
	"5.1":  "XP",
}

func osName(u useragent.UserAgent, lower string) string {
	v := strings.ReplaceAll(u.OSVersion, "_", ".")
	if !printable(v) {
		v = ""
	}
	switch u.OS {
	case useragent.Windows:
		if name, ok := windowsNT[v]; ok {
			return "Windows " + name
		}
		return "Windows"
	case useragent.Android:
		return join("Android", majorVersion(v))
	case useragent.IOS, useragent.MacOS:
		return join(u.OS, v)
	case useragent.Linux:
		if strings.Contains(lower, "web0s") || strings.Contains(lower, "webos") {
			return "webOS"
		}
		return "Linux" // the "version" is the architecture
	case useragent.ChromeOS, useragent.FreeBSD:
		return u.OS
	case "":
		if strings.Contains(lower, "tizen") {
			return "Tizen"
		}
		return ""
	}
	if printable(u.OS) {
		return join(u.OS, v)
	}
	return ""
}

func join(name, version string) string {
	if version == "" {
		return name
	}
	return name + " " + version
}

var tvMarks = []string{
	"smart-tv", "smarttv", "smart tv", "hbbtv", "appletv", "apple tv", "googletv",
	"google tv", "android tv", "crkey", "bravia", "roku", "web0s", "netcast",
	"tizen", "tv safari", "philipstv", "aquos", "viera",
}

func isTV(u useragent.UserAgent, lower string) bool {
	for _, m := range tvMarks {
		if strings.Contains(lower, m) {
			return true
		}
	}
	// Amazon Fire TV devices are named AFTxx.
	return u.OS == useragent.Android && strings.HasPrefix(u.Device, "AFT")
}

// toolPrefixes start the User-Agents of command-line HTTP tools and
// programming-language HTTP libraries.
var toolPrefixes = []string{
	"curl/", "wget/", "go-http-client/", "python-requests/", "python-urllib/",
	"python-httpx/", "aiohttp/", "okhttp/", "java/", "apache-httpclient/",
	"libwww-perl/", "node-fetch", "axios/", "undici", "httpie/", "postmanruntime/",
	"ruby", "php/", "guzzlehttp/", "powershell/", "dart:io",
}

func isTool(lower string) bool {
	for _, p := range toolPrefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// printable reports whether s is fit to show: no control or replacement
// characters.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
