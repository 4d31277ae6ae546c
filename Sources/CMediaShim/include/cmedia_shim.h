#ifndef CMEDIA_SHIM_H_INCLUDED
#define CMEDIA_SHIM_H_INCLUDED
/*
 * Small C layer under MediaIO for the parts Swift cannot or should not do itself:
 *  - libpng reading and writing: libpng reports errors by longjmp, which must never cross Swift
 *    frames, so every libpng call happens here between setjmp and return;
 *  - a stateful FFmpeg video reader (demux → decode → swscale) whose handle Swift owns, also
 *    opened in still-image mode to decode the first frame of an image file;
 *  - libswresample resampling of planar float audio;
 *  - FFmpeg error macros (AVERROR_*) that Swift cannot import.
 * Every function returns one of the CM_* status codes and, on failure, a NUL-terminated
 * human-readable reason in `message`.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CM_OK = 0,
    CM_ERR_SIGNATURE = 1,   /* not this format at all */
    CM_ERR_CORRUPT = 2,     /* malformed data */
    CM_ERR_TRUNCATED = 3,   /* data ends early */
    CM_ERR_TOO_LARGE = 4,   /* over a limit */
    CM_ERR_NOMEM = 5,
    CM_ERR_ARGUMENT = 6,
    CM_ERR_UNSUPPORTED = 7, /* recognised but cannot be decoded (no stream, no decoder) */
    CM_ERR_IO = 8,
    CM_EOF = 9              /* end of stream (not an error) */
};

/* ---------------------------------------------------------------- PNG */

typedef struct {
    uint32_t width;
    uint32_t height;
    int color_type;      /* PNG colour type as stored: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA */
    int file_bit_depth;  /* 1, 2, 4, 8 or 16 as stored */
    int interlaced;      /* 1 for Adam7 */
    int has_trns;        /* a tRNS chunk gives transparency */
    int channels;        /* channels of the decoded pixels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int bit_depth;       /* 8 or 16 in the decoded pixels (16-bit samples in native byte order) */
} cm_png_info;

/* Decodes a PNG held in memory. Palette images become RGB (RGBA with tRNS), gray below 8 bits is
 * scaled to 8 bits, tRNS becomes an alpha channel. Pixels are row-major, interleaved, `channels`
 * samples per pixel, uint8 or uint16 per sample. If `header_only`, only `info` is filled.
 * Fails with CM_ERR_TOO_LARGE before allocating when width × height > max_pixels.
 * `*pixels` must be released with cm_free. */
int cm_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, int header_only,
                  cm_png_info *info, void **pixels, char *message, size_t message_size);

/* Encodes 8-bit interleaved pixels (channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) as a PNG in
 * memory. `*out` must be released with cm_free. */
int cm_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  uint8_t **out, size_t *out_size, char *message, size_t message_size);

void cm_free(void *pointer);

/* ---------------------------------------------------------------- video */

typedef struct cm_video cm_video;

typedef struct {
    int width;
    int height;
    double fps;            /* average frame rate, 0 if unknown */
    double duration_s;     /* container or stream duration, 0 if unknown */
    int64_t frames;        /* frame count stored in the container, 0 if unknown */
    char codec[64];        /* FFmpeg decoder name, e.g. "h264" */
    char container[64];    /* FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
    char codec_id_name[64]; /* FFmpeg codec name (not the decoder's), e.g. "av1" for libdav1d */
} cm_video_info;

/* One stream of a container, as its header says. */
typedef struct {
    int index;
    int type;              /* 0 video, 1 audio, 2 subtitle, 3 other */
    char codec[64];        /* FFmpeg codec name, e.g. "h264", "aac" */
    int width, height;     /* video */
    int sample_rate, channels; /* audio */
    double duration_s;     /* 0 if unknown */
} cm_stream_info;

/* Lists up to `capacity` streams of the container at `path` into `streams`, their number in
 * `count` (which may exceed `capacity`). Silences FFmpeg's log. */
int cm_streams(const char *path, cm_stream_info *streams, int capacity, int *count, char *message, size_t message_size);

/* Opens `path` and its best video stream with a decoder. Silences FFmpeg's log. */
int cm_video_open(const char *path, int threads, cm_video **out, cm_video_info *info,
                  char *message, size_t message_size);

/* Counts the packets of the video stream by demuxing only (no decoding), at most `limit`. */
int cm_video_count_packets(cm_video *video, int64_t limit, int64_t *count, char *message, size_t message_size);

/* Decodes the next frame. Returns CM_OK with the frame held inside `video`, CM_EOF after the last
 * frame, or an error. `*pts_s` is the frame's presentation time in seconds (best effort),
 * `*width`/`*height` its size. */
int cm_video_next(cm_video *video, double *pts_s, int *width, int *height, char *message, size_t message_size);

/* Converts the held frame to packed rgb24 (gray = 0) or gray8 (gray = 1) at out_width × out_height
 * with swscale (bicubic when scaling, as the ffmpeg command-line tool does by default).
 * `dst` holds out_width × out_height × (gray ? 1 : 3) bytes; nothing is written past them (swscale
 * writes into a padded buffer inside `video`, whose rows are then copied). */
int cm_video_convert(cm_video *video, int out_width, int out_height, int gray, uint8_t *dst,
                     char *message, size_t message_size);

/* Opens `path` like cm_video_open, in still-image mode: the stream information is not probed (the
 * frame size may be 0 until the first frame is decoded), the decoder runs on one thread (the JPEG
 * decoder with AV_EF_EXPLODE, so a scan cut short is an error), and a frame larger than
 * `max_pixels` (if > 0) is refused before the decoder allocates it: cm_video_next then fails with
 * CM_ERR_TOO_LARGE and cm_image_frame_format describes the refused frame. */
int cm_image_open(const char *path, int64_t max_pixels, cm_video **out, cm_video_info *info,
                  char *message, size_t message_size);

typedef struct {
    int width;
    int height;
    int format;            /* AVPixelFormat */
    char format_name[32];  /* e.g. "yuvj420p", "pal8", "gray16be" */
    int components;        /* colour components, alpha included (pal8: 1) */
    int bit_depth;         /* bits of the first component */
    int has_alpha;         /* the pixel format carries alpha (pal8 does, through its palette) */
    int is_gray;           /* luma only, with or without alpha */
    int is_palette;        /* palette indices (pal8) */
    int is_yuv;            /* luma + chroma */
} cm_frame_format;

/* Describes the held frame (returns 0) or, after a frame was refused for its size, that frame (returns 1). */
int cm_image_frame_format(const cm_video *video, cm_frame_format *out);

enum {
    CM_PIX_GRAY8 = 0, CM_PIX_YA8 = 1, CM_PIX_RGB24 = 2, CM_PIX_RGBA = 3,
    CM_PIX_GRAY16 = 4, CM_PIX_YA16 = 5, CM_PIX_RGB48 = 6, CM_PIX_RGBA64 = 7  /* 16-bit: native byte order */
};

/* Converts the held frame at its own size to packed pixels of `target` (CM_PIX_*), rows without
 * padding; `dst` holds `capacity` bytes. */
int cm_image_convert(cm_video *video, int target, void *dst, size_t capacity, char *message, size_t message_size);

/* FFmpeg's guess of the format from the first 16 KiB of content alone (the file name ignored):
 * the probe score (0: nothing recognised), and the demuxer name in `name`. */
int cm_probe_content(const char *path, char *name, size_t name_size);

/* Number of packets the decoder rejected as invalid so far. */
int64_t cm_video_decode_errors(const cm_video *video);

void cm_video_close(cm_video *video);

/* ---------------------------------------------------------------- audio */

/* Resamples planar float audio (channels × in_frames, channel-major) from in_rate to out_rate with
 * libswresample. `out` holds channels × out_capacity floats (channel-major with stride
 * out_capacity); `*out_frames` receives the frames written (delay flushed). */
int cm_resample_planar(const float *in, int channels, int64_t in_frames, int in_rate, int out_rate,
                       float *out, int64_t out_capacity, int64_t *out_frames,
                       char *message, size_t message_size);

#ifdef __cplusplus
}
#endif
#endif
