// Package qr finds and reads QR codes in images, and draws them.
//
// It exists so that Countersign can enroll authenticator accounts from the
// QR code a web site shows: Decode, DecodeBytes and DecodeFile return every
// QR code in a screenshot, an image file or a photo (deduplicated, in
// reading order), each with its text, its Kind (an otpauth:// account, an
// otpauth-migration:// export, or anything else) and its bounds in the
// image. Encode renders text as a QR code PNG, for showing an account to a
// phone.
//
// Decoding is built on gozxing's binarizers, finder-pattern detector, grid
// sampler and decoder, and tries strategies from cheap to expensive, stopping
// at the first that finds a code:
//
//   - hybrid binarizer: gozxing's local-threshold binarizer, finder patterns
//     searched on every third row (its TRY_HARDER spacing) and every plausible
//     triple of them decoded. This reads a clean code in a 1080p screenshot
//     in about 15 ms, and finds codes drawn at 2 px per module in 4K.
//   - inverted: the same on the negative, for light codes on dark themes.
//   - histogram binarizer: one global threshold.
//   - local contrast: a binarizer that thresholds at local min–max midpoints,
//     for faint codes (grey on grey) that gozxing's binarizers flatten.
//   - denoised: the image averaged down ×½, for heavy noise.
//   - upscaled ×2 (images up to 2.5 Mpx): bilinear enlargement, for modules
//     of 1.5–2 px, blurred or scaled by a fractional factor.
//   - regions: crops around finder-pattern candidates that no decoded code
//     explains, enlarged to about 6 px per module.
//   - upscaled ×3 (small images) or tiles (screenshots up to 4K): the whole
//     image enlarged ×3, or a sweep of overlapping tiles enlarged ×2.
//
// Images larger than 4K are first scanned downscaled. When a strategy finds
// some codes, the finder-pattern candidates it could not explain are still
// examined, so an image with several codes yields all of them. The harder
// strategies stop after a few seconds; NotFoundError lists the ones tried.
//
// DecodeBytes and DecodeFile are safe on untrusted input: the image header
// is checked against MaxPixels before any pixel is decoded, files are read
// up to MaxFileSize, and a panic inside gozxing counts as "not found".
//
// The package does not capture the screen or read the clipboard (package
// capture does), and it does not parse otpauth URIs (package otp does).
package qr
