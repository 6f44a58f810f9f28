package uainfo

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, ua string
		want     Info
		str      string
	}{
		{"chrome linux",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Info{"Chrome 131", "Linux", Desktop}, "Chrome 131 on Linux"},
		{"firefox windows",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
			Info{"Firefox 133", "Windows 10", Desktop}, "Firefox 133 on Windows 10"},
		{"firefox ubuntu",
			"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
			Info{"Firefox 133", "Linux", Desktop}, "Firefox 133 on Linux"},
		{"firefox macos",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0",
			Info{"Firefox 133", "macOS 14.1", Desktop}, "Firefox 133 on macOS 14.1"},
		{"safari macos",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
			Info{"Safari 17", "macOS 10.15.7", Desktop}, "Safari 17 on macOS 10.15.7"},
		{"safari iphone",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
			Info{"Safari 17", "iOS 17.2", Phone}, "Safari 17 on iOS 17.2"},
		{"chrome iphone",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
			Info{"Chrome 131", "iOS 17.2", Phone}, "Chrome 131 on iOS 17.2"},
		{"safari ipad",
			"Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
			Info{"Safari 17", "iOS 17.2", Tablet}, "Safari 17 on iOS 17.2"},
		{"chrome android phone",
			"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
			Info{"Chrome 131", "Android 14", Phone}, "Chrome 131 on Android 14"},
		{"chrome android tablet",
			"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Safari/537.36",
			Info{"Chrome 131", "Android 13", Tablet}, "Chrome 131 on Android 13"},
		{"samsung internet",
			"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
			Info{"Samsung Browser 23", "Android 14", Phone}, "Samsung Browser 23 on Android 14"},
		{"edge",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
			Info{"Edge 131", "Windows 10", Desktop}, "Edge 131 on Windows 10"},
		{"chrome windows 7",
			"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
			Info{"Chrome 109", "Windows 7", Desktop}, "Chrome 109 on Windows 7"},
		{"chromebook",
			"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Info{"Chrome 131", "ChromeOS", Desktop}, "Chrome 131 on ChromeOS"},
		{"lg tv",
			"Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager",
			Info{"Chrome 87", "webOS", TV}, "Chrome 87 on webOS"},
		{"fire tv",
			"Mozilla/5.0 (Linux; Android 9; AFTMM) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
			Info{"Chrome 120", "Android 9", TV}, "Chrome 120 on Android 9"},
		{"googlebot",
			"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Info{"Googlebot 2", "", Bot}, "Googlebot 2"},
		{"headless chrome",
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
			Info{"Headless Chrome 131", "Linux", Bot}, "Headless Chrome 131 on Linux"},
		{"curl", "curl/8.5.0", Info{"curl 8", "", Bot}, "curl 8"},
		{"go", "Go-http-client/1.1", Info{"Go-http-client 1", "", Bot}, "Go-http-client 1"},
		{"empty", "", Info{"", "", Unknown}, "Unknown browser"},
		{"garbage", "\x00\xff garbage ;;; (((", Info{"", "", Unknown}, "Unknown browser"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.ua)
			if got != tt.want {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.ua, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.ua, s, tt.str)
			}
		})
	}
}

func TestString(t *testing.T) {
	for _, tt := range []struct {
		in   Info
		want string
	}{
		{Info{}, "Unknown browser"},
		{Info{OS: "Linux"}, "Unknown browser on Linux"},
		{Info{Browser: "Firefox 133"}, "Firefox 133"},
		{Info{Browser: "Firefox 133", OS: "Linux"}, "Firefox 133 on Linux"},
	} {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseLongInput(t *testing.T) {
	chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	got := Parse(chrome + " " + strings.Repeat("a", 1<<16) + " Firefox/133.0")
	if got.Browser != "Chrome 131" {
		t.Errorf("Parse(long) browser = %q, want %q (the tail beyond %d bytes ignored)", got.Browser, "Chrome 131", MaxLen)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	f.Add("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36")
	f.Add("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0")
	f.Add("curl/8.5.0")
	f.Add("(((;;;)))")
	f.Add("")
	f.Fuzz(func(t *testing.T, ua string) {
		info := Parse(ua)
		switch info.Kind {
		case Desktop, Phone, Tablet, TV, Bot, Unknown:
		default:
			t.Errorf("Parse(%q).Kind = %q, not one of the kinds", ua, info.Kind)
		}
		s := info.String()
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x00") {
			t.Errorf("Parse(%q).String() = %q, not fit to show", ua, s)
		}
		if len(s) > 2*MaxLen+len(" on ") {
			t.Errorf("Parse(%q).String() is %d bytes long", ua, len(s))
		}
	})
}
