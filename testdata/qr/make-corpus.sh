#!/usr/bin/env bash
# make-corpus.sh: draws the QR decoding corpus in this directory and writes
# manifest.json, the ground truth of every image: [{file, case, texts}], texts
# being every text the image holds (empty for images with no code).
#
# The images are committed, so tests need none of these tools; run this only
# to change the corpus. Everything is fixed (texts, noise seeds, page), so a
# rerun on the same tool versions gives the same images; Chromium's text
# rendering may differ slightly between versions.
#
# Needs the Debian packages qrencode, imagemagick, chromium, jq and
# fonts-dejavu-core, and Go (for gen-migration.go).
set -euo pipefail

die() { echo "make-corpus: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# ImageMagick, not a stand-in that may shadow it on PATH.
IM=${IM:-/usr/bin/convert}
"$IM" -version 2>/dev/null | grep ImageMagick >/dev/null ||
	die "$IM is not ImageMagick's convert: apt-get install imagemagick (or set IM=/path/to/convert)"
for tool in qrencode:qrencode chromium:chromium jq:jq; do
	command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is missing: apt-get install ${tool#*:}"
done
fc-list 2>/dev/null | grep DejaVuSans.ttf >/dev/null || die "the DejaVu fonts are missing: apt-get install fonts-dejavu-core"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$GO" ] || die "go is missing: install Go 1.26 or newer from https://go.dev/dl/"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
mkdir "$out"

# --- texts ---------------------------------------------------------------

GITHUB='otpauth://totp/GitHub:octocat?secret=4HXKQ2LZ7YPN3RVB&issuer=GitHub'
ACME='otpauth://totp/ACME%20Co:jane.doe%40acme.example?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF&issuer=ACME%20Co'
GOOGLE='otpauth://totp/Google%3Ajane.doe%40gmail.com?secret=x7kq2mvb3n5p6rjtyw4dzh2cfeagls3u&issuer=Google'
HOTP='otpauth://hotp/Example:alice%40example.com?secret=GEZDGNBVGY3TQOJQ&counter=42&issuer=Example'
ZURICH='otpauth://totp/Z%C3%BCrich%20Bank:m%C3%BCller%40bank.example?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&issuer=Z%C3%BCrich%20Bank&algorithm=SHA256&digits=8'
DROPBOX='otpauth://totp/Dropbox:sam%2Bwork%40example.org?secret=ONSWG4TFOQYTEMZU&issuer=Dropbox&period=30'
GITLAB='otpauth://totp/GitLab:jo?secret=JBSWY3DPEHPK3PXP&issuer=GitLab' # short enough for version 4
PAGE=$ACME                                                              # must match page.html
URL='https://www.example.com/docs/getting-started?utm_source=qr'
mapfile -t MIGRATION < <(cd "$root" && "$GO" run ./testdata/qr/gen-migration.go)
[ "${#MIGRATION[@]}" -eq 2 ] || die "gen-migration.go printed ${#MIGRATION[@]} URIs, want 2"
secret=${PAGE#*secret=}
secret=$(echo "${secret%%&*}" | sed 's/..../& /g; s/ $//') # as the page shows it: KRSX G5CT …
grep -qF "$secret" "$here/page.html" || die "page.html does not show the secret of \$PAGE, $secret"

# --- helpers -------------------------------------------------------------

# Output without timestamps or other metadata, so reruns give the same bytes.
FINAL=(-strip -define png:exclude-chunks=date,time)

# qr TEXT OUT SCALE MARGIN [qrencode options…]: a black-on-white code.
qr() {
	local text=$1 file=$2 scale=$3 margin=$4
	shift 4
	qrencode -t PNG -s "$scale" -m "$margin" -o "$file" "$@" -- "$text"
}

size() { "$IM" "$1" -format '%wx%h' info:; }

# desktop W H OUT [dark]: a screenshot-like image: wallpaper, a top bar, and a
# window with a title bar and lines of text, at a size scaled to H.
desktop() {
	local w=$1 h=$2 file=$3 theme=${4:-light}
	local k=$((h * 100 / 1080)) # percent of a 1080-line screen
	local bar=$((28 * k / 100)) fs=$((15 * k / 100)) title=$((34 * k / 100))
	local x0=$((w * 12 / 100)) y0=$((h * 10 / 100)) x1=$((w * 88 / 100)) y1=$((h * 92 / 100))
	local winbg='#ffffff' titlebg='#e6e6e6' ink='#222222' grey='#c8c8c8'
	if [ "$theme" = dark ]; then
		winbg='#202124' titlebg='#2d2e31' ink='#e8eaed' grey='#3c4043'
	fi
	local draw=(-fill '#1b1b1b' -draw "rectangle 0,0 $w,$bar"
		-fill '#00000055' -draw "rectangle $((x0 + 6)),$((y0 + 8)) $((x1 + 6)),$((y1 + 8))"
		-fill "$winbg" -draw "rectangle $x0,$y0 $x1,$y1"
		-fill "$titlebg" -draw "rectangle $x0,$y0 $x1,$((y0 + title))"
		-fill '#ff5f57' -draw "circle $((x0 + title / 2)),$((y0 + title / 2)) $((x0 + title / 2 + title / 5)),$((y0 + title / 2))"
		-fill '#febc2e' -draw "circle $((x0 + title)),$((y0 + title / 2)) $((x0 + title + title / 5)),$((y0 + title / 2))"
		-fill '#28c840' -draw "circle $((x0 + 3 * title / 2)),$((y0 + title / 2)) $((x0 + 3 * title / 2 + title / 5)),$((y0 + title / 2))")
	local lines=("Account security" "Recovery codes, trusted devices and sign-in history."
		"Your password was last changed 3 months ago." "Sign-in requests from new devices need your approval."
		"Connected apps: Calendar, Drive, Photos" "Download a copy of your data at any time.")
	local i y=$((y0 + title + 3 * fs))
	for i in "${!lines[@]}"; do
		draw+=(-fill "$ink" -pointsize "$fs" -annotate "+$((x0 + 2 * fs))+$y" "${lines[i]}")
		draw+=(-fill "$grey" -draw "rectangle $((x0 + 2 * fs)),$((y + fs)) $((x0 + 2 * fs + (w / 4) * (i % 3 + 2) / 4)),$((y + fs + fs / 2))")
		y=$((y + 4 * fs))
	done
	draw+=(-fill '#ffffff' -pointsize "$fs" -annotate "+$((w - 12 * fs))+$((bar * 3 / 4))" 'Tue 14:05')
	"$IM" -size "${w}x${h}" gradient:'#2b5876-#4e4376' -font DejaVu-Sans "${draw[@]}" -depth 8 -type TrueColor "$file"
}

# busy W H OUT SEED: a photo-like image: a plasma fractal under scattered
# shapes, both from SEED (the shapes from a generator in bash, so that they
# do not depend on the awk at hand).
busy() {
	local w=$1 h=$2 file=$3 seed=$4
	local state=$seed i x y r c args=()
	rnd() { state=$(((state * 1103515245 + 12345) & 0x7fffffff)); REPLY=$((state >> 8)); }
	for ((i = 0; i < 120; i++)); do
		rnd; x=$((REPLY % w)); rnd; y=$((REPLY % h)); rnd; r=$((5 + REPLY % (h / 12)))
		rnd; c=$(printf '#%06x' $((REPLY & 0xffffff))); rnd; c+=$(printf '%02x' $((90 + REPLY % 140)))
		case $((i % 3)) in
		0) args+=(-fill "$c" -draw "circle $x,$y $((x + r)),$y") ;;
		1) args+=(-fill "$c" -draw "rectangle $x,$y $((x + 2 * r)),$((y + r))") ;;
		2) rnd; args+=(-stroke "$c" -strokewidth $((1 + REPLY % 6)) -draw "line $x,$y $((x + 3 * r)),$((y + r))" +stroke) ;;
		esac
	done
	"$IM" -seed "$seed" -size "${w}x${h}" plasma:fractal -blur 0x2 "${args[@]}" -depth 8 "$file"
}

# screenshot URL OUT W H [chromium options…]: headless Chromium's view of URL.
screenshot() {
	local url=$1 file=$2 w=$3 h=$4
	shift 4
	local profile
	profile=$(mktemp -d "$tmp/chromium.XXXXXX")
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --hide-scrollbars \
		--user-data-dir="$profile" --screenshot="$file" --window-size="$w,$h" "$@" "$url" \
		>"$tmp/chromium.log" 2>&1 || { cat "$tmp/chromium.log" >&2; die "chromium failed on $url"; }
	[ -s "$file" ] || { cat "$tmp/chromium.log" >&2; die "chromium wrote no screenshot of $url"; }
}

manifest=()
# add FILE CASE [TEXT…]: records FILE, after checking it exists, in the manifest.
add() {
	local file=$1 case=$2
	shift 2
	[ -s "$out/$file" ] || die "$file was not made"
	manifest+=("$(jq -nc --arg file "$file" --arg case "$case" '{file: $file, case: $case, texts: $ARGS.positional}' --args "$@")")
	printf '%-34s %10s  %s\n' "$file" "$(size "$out/$file")" "$case" >&2
}

# --- cases ---------------------------------------------------------------

cd "$tmp"

# A clean code, as an app or a web page serves it.
qr "$GITHUB" q.png 8 4
"$IM" q.png "${FINAL[@]}" "$out/clean.png"
add clean.png "clean: black on white, 8 px modules, 4-module quiet zone" "$GITHUB"

# Small modules: a version-4 code (33×33 modules) at 2 px a module in a 4K screenshot.
qr "$GITLAB" q.png 1 0 -v 4 -l L
[ "$(size q.png)" = 33x33 ] || die "the small-modules text does not fit version 4 (got $(size q.png) modules)"
qr "$GITLAB" q.png 2 4 -v 4 -l L
desktop 3840 2160 d.png
"$IM" d.png q.png -geometry +2400+900 -composite "${FINAL[@]}" "$out/small-modules-4k.png"
add small-modules-4k.png "small modules: 33x33 at 2 px in a 4K screenshot" "$GITLAB"

# Rotated a quarter turn, and by 15°.
qr "$ACME" q.png 6 4
"$IM" q.png -rotate 90 -background '#f0f0f0' -gravity center -extent 480x480 "${FINAL[@]}" "$out/rotated-90.png"
add rotated-90.png "rotated 90 degrees" "$ACME"
qr "$ZURICH" q.png 6 4
"$IM" q.png -background white -rotate 15 -background '#f0f0f0' -gravity center -extent 560x560 "${FINAL[@]}" "$out/rotated-15.png"
add rotated-15.png "rotated 15 degrees, interpolated" "$ZURICH"

# Mild perspective, as a photo of a screen taken slightly from the side.
qr "$GOOGLE" q.png 6 4
read -r w h < <("$IM" q.png -format '%w %h\n' info:)
"$IM" q.png -virtual-pixel white -distort Perspective \
	"0,0 $((w * 8 / 100)),$((h * 4 / 100))  $w,0 $((w * 96 / 100)),0  0,$h 0,$h  $w,$h $((w * 90 / 100)),$((h * 94 / 100))" \
	"${FINAL[@]}" "$out/perspective.png"
add perspective.png "mild perspective (ImageMagick -distort Perspective)" "$GOOGLE"

# Inverted colours: light modules on a dark-mode page.
qr "$HOTP" q.png 5 4
desktop 1920 1080 d.png dark
"$IM" q.png -negate +level 13%,91% q-dark.png
"$IM" d.png q-dark.png -geometry +1200+400 -composite "${FINAL[@]}" "$out/inverted.png"
add inverted.png "inverted colours: light modules on a dark-mode screenshot" "$HOTP"

# Low contrast: mid-grey modules on light grey.
qr "$DROPBOX" q.png 6 4
"$IM" q.png -colorspace Gray +level 42%,72% "${FINAL[@]}" "$out/low-contrast.png"
add low-contrast.png "low contrast: grey 42% on grey 72%" "$DROPBOX"

# JPEG artefacts: a screenshot with a 3 px-module code, saved at quality 30.
qr "$ZURICH" q.png 3 4
desktop 1280 720 d.png
"$IM" d.png q.png -geometry +820+260 -composite -strip -sampling-factor 4:2:0 -quality 30 "$out/jpeg-q30.jpg"
add jpeg-q30.jpg "JPEG artefacts: quality 30, 4:2:0 chroma, 3 px modules" "$ZURICH"
qr "$GITHUB" q.png 2 4
"$IM" d.png q.png -geometry +840+300 -composite -strip -sampling-factor 4:2:0 -quality 30 "$out/jpeg-q30-2px.jpg"
add jpeg-q30-2px.jpg "JPEG artefacts: quality 30, 4:2:0 chroma, 2 px modules" "$GITHUB"

# Gaussian noise.
qr "$GITHUB" q.png 6 4
"$IM" q.png -colorspace Gray -gravity center -background white -extent 400x400 \
	-seed 42 -attenuate 1.5 +noise Gaussian -colorspace Gray "${FINAL[@]}" "$out/noise.png"
add noise.png "gaussian noise (seed 42), grey" "$GITHUB"
"$IM" q.png -colorspace Gray -gravity center -background white -extent 400x400 \
	-seed 43 -attenuate 3 +noise Gaussian -colorspace Gray "${FINAL[@]}" "$out/noise-heavy.png"
add noise-heavy.png "heavy gaussian noise (seed 43, twice the attenuation), grey" "$GITHUB"

# Partly over a busy background: a plain page on the left, a photo on the right,
# the code across the edge: once with a white quiet zone, once with its light
# modules transparent (a sticker over the photo).
busy 560 700 b.png 7
"$IM" b.png +level 40%,100% b-light.png
qr "$ACME" q.png 5 2
"$IM" -size 1200x700 xc:white -font DejaVu-Sans -fill '#333333' -pointsize 22 \
	-annotate +40+80 'Scan to set up your account' b.png -geometry +640+0 -composite \
	q.png -geometry +540+180 -composite "${FINAL[@]}" "$out/busy-background.png"
add busy-background.png "partly over a busy background (plasma and shapes), white quiet zone" "$ACME"
qr "$GOOGLE" q.png 5 0
"$IM" q.png -fuzz 10% -transparent white q-sticker.png
"$IM" -size 1200x700 xc:white b-light.png -geometry +640+0 -composite \
	q-sticker.png -geometry +560+200 -composite "${FINAL[@]}" "$out/busy-background-transparent.png"
add busy-background-transparent.png "partly over a lightened busy background, light modules transparent, no quiet zone" "$GOOGLE"

# Several codes in one image: a printed sheet of three accounts.
qr "$GITHUB" q1.png 5 4
qr "$HOTP" q2.png 6 4
qr "$DROPBOX" q3.png 4 4
below() { echo "+$1+$(($2 + $("$IM" "$3" -format %h info:) + 10))"; } # below X Y CODE: where its label goes
"$IM" -size 1600x900 xc:white -font DejaVu-Sans -fill black -pointsize 28 \
	-annotate +60+70 'Backup sheet: scan each code into your new authenticator' -pointsize 20 \
	q1.png -geometry +80+160 -composite -annotate "$(below 100 160 q1.png)" 'GitHub: octocat' \
	q2.png -geometry +600+140 -composite -annotate "$(below 620 140 q2.png)" 'Example: alice@example.com' \
	q3.png -geometry +1180+200 -composite -annotate "$(below 1200 200 q3.png)" 'Dropbox: sam+work@example.org' \
	"${FINAL[@]}" "$out/multi-3.png"
add multi-3.png "several codes in one image: three accounts, 4, 5 and 6 px modules" "$GITHUB" "$HOTP" "$DROPBOX"

# Google Authenticator exports: three accounts, and a full batch of ten (a dense code).
qr "${MIGRATION[0]}" q.png 5 4 -l M
"$IM" q.png "${FINAL[@]}" "$out/migration.png"
add migration.png "Google Authenticator export: otpauth-migration, three accounts" "${MIGRATION[0]}"
qr "${MIGRATION[1]}" q.png 4 4 -l L
"$IM" q.png "${FINAL[@]}" "$out/migration-10.png"
add migration-10.png "Google Authenticator export: otpauth-migration, ten accounts (dense, 4 px modules)" "${MIGRATION[1]}"

# A code that is not an authenticator's.
qr "$URL" q.png 6 4
"$IM" q.png "${FINAL[@]}" "$out/other-url.png"
add other-url.png "not an authenticator code: an https:// URL (classified other)" "$URL"

# No code at all.
desktop 1920 1080 d.png
"$IM" d.png "${FINAL[@]}" "$out/no-code-screenshot.png"
add no-code-screenshot.png "no code: a plain screenshot-like image"
busy 800 600 b.png 11
"$IM" b.png -seed 5 -attenuate 0.3 +noise Gaussian "${FINAL[@]}" "$out/no-code-photo.png"
add no-code-photo.png "no code: a photo-like image (plasma, shapes, noise)"

# A service's setup page, rendered by Chromium at 1920x1080 and at device scale
# factor 2 (3840x2160). page-qr.png is the code the page embeds (4 px modules,
# shown at 200 CSS px, so resampled).
qr "$PAGE" "$out/page-qr.png" 4 1
add page-qr.png "the code page.html embeds, 4 px modules, 1-module quiet zone" "$PAGE"
cp "$here/page.html" "$out/page.html"
screenshot "file://$out/page.html" "$out/webpage-1080.png" 1920 1080
"$IM" "$out/webpage-1080.png" "${FINAL[@]}" "$out/webpage-1080.png"
add webpage-1080.png "web page screenshot: 2-step verification setup page, Chromium 1920x1080" "$PAGE"
screenshot "file://$out/page.html" "$out/webpage-1080-dpr2.png" 1920 1080 --force-device-scale-factor=2
"$IM" "$out/webpage-1080-dpr2.png" "${FINAL[@]}" "$out/webpage-1080-dpr2.png"
add webpage-1080-dpr2.png "web page screenshot at device scale factor 2 (3840x2160)" "$PAGE"
rm "$out/page.html"

# --- install -------------------------------------------------------------

printf '%s\n' "${manifest[@]}" | jq -s . >"$out/manifest.json"
rm -f "$here"/*.png "$here"/*.jpg
mv "$out"/* "$here"/
echo "make-corpus: $(jq length "$here/manifest.json") images, $(du -ch "$here"/*.png "$here"/*.jpg | tail -1 | cut -f1)" >&2
