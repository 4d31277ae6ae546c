/* FFmpeg video reading: demux → decode → swscale, one frame at a time. The same reader opened in
 * still-image mode (cm_image_open) decodes the first frame of an image file. */
#include "cmedia_shim.h"
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cm_video {
    AVFormatContext *format;
    AVCodecContext *codec;
    AVPacket *packet;
    AVFrame *frame;
    struct SwsContext *scaler;
    int stream;
    int draining;        /* end of input reached, decoder being flushed */
    int64_t decode_errors;
    int image;           /* opened by cm_image_open */
    int64_t max_pixels;  /* image mode: frame buffers over this many pixels are refused (0: no limit) */
    int refused;         /* a frame buffer was refused for max_pixels; its size and format follow */
    int refused_width, refused_height, refused_format;
    /* Conversion output: swscale's vector code may write past the end of a row, so it converts
     * into this padded, aligned buffer and the rows are then copied out. */
    uint8_t *scratch[4];
    int scratch_linesize[4];
    int scratch_width, scratch_height, scratch_format;
};

static void cm_message(char *message, size_t size, const char *prefix, int error) {
    if (!message || size == 0) return;
    char text[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(error, text, sizeof text);
    snprintf(message, size, "%s: %s", prefix, text);
}

static int cm_status_for(int error) {
    if (error == AVERROR_INVALIDDATA) return CM_ERR_CORRUPT;
    if (error == AVERROR_EOF) return CM_ERR_TRUNCATED;
    if (error == AVERROR(ENOMEM)) return CM_ERR_NOMEM;
    if (error == AVERROR_DECODER_NOT_FOUND || error == AVERROR_DEMUXER_NOT_FOUND ||
        error == AVERROR_STREAM_NOT_FOUND || error == AVERROR_PATCHWELCOME)
        return CM_ERR_UNSUPPORTED;
    /* EIO from a demuxer means unreadable data in a file that opened fine. */
    if (error == AVERROR(ENOENT) || error == AVERROR(EACCES)) return CM_ERR_IO;
    return CM_ERR_CORRUPT;
}

void cm_video_close(cm_video *video) {
    if (!video) return;
    av_freep(&video->scratch[0]);
    sws_freeContext(video->scaler);
    av_frame_free(&video->frame);
    av_packet_free(&video->packet);
    avcodec_free_context(&video->codec);
    avformat_close_input(&video->format);
    av_free(video);
}

/* Image mode: the decoder asks for the frame buffer once it knows the picture's size and pixel
 * format, before it allocates the picture; a picture over the limit is refused here and its size
 * kept for the error message. */
static int cm_get_buffer(AVCodecContext *codec, AVFrame *frame, int flags) {
    cm_video *video = (cm_video *)codec->opaque;
    int width = codec->width > 0 ? codec->width : frame->width;
    int height = codec->height > 0 ? codec->height : frame->height;
    if (video && video->max_pixels > 0 && (int64_t)width * height > video->max_pixels) {
        video->refused = 1;
        video->refused_width = width;
        video->refused_height = height;
        video->refused_format = frame->format;
        return AVERROR(ERANGE);
    }
    return avcodec_default_get_buffer2(codec, frame, flags);
}

static int cm_refusal(const cm_video *video, char *message, size_t message_size) {
    snprintf(message, message_size, "%dx%d = %lld pixels exceeds the limit of %lld", video->refused_width,
             video->refused_height, (long long)video->refused_width * video->refused_height,
             (long long)video->max_pixels);
    return CM_ERR_TOO_LARGE;
}

/* Video mode reads the stream information (which may decode a few frames) and requires a frame
 * size; image mode skips that, since image demuxers describe their one stream in the header and the
 * first decoded frame gives its size, and decodes on one thread. For JPEG it also sets AV_EF_EXPLODE,
 * so that a scan cut short is an error rather than rows of gray (for every decoder it would also
 * reject harmless oddities, such as a TIFF tag the decoder does not know). */
static int cm_open(const char *path, int threads, int image, int64_t max_pixels, cm_video **out,
                   cm_video_info *info, char *message, size_t message_size) {
    *out = NULL;
    av_log_set_level(AV_LOG_QUIET);
    cm_video *video = (cm_video *)av_mallocz(sizeof *video);
    if (!video) return CM_ERR_NOMEM;
    video->image = image;
    video->max_pixels = max_pixels > 0 ? max_pixels : 0;
    int error = avformat_open_input(&video->format, path, NULL, NULL);
    if (error < 0) {
        cm_video_close(video);
        /* A file whose content a demuxer recognises with some confidence, but which then fails
         * to open, is a damaged file of that format, not an unknown one. */
        char recognised[64] = {0};
        if (error == AVERROR_INVALIDDATA && !image &&
            cm_probe_content(path, recognised, sizeof recognised) > AVPROBE_SCORE_MAX / 4) {
            char text[AV_ERROR_MAX_STRING_SIZE] = {0};
            av_strerror(error, text, sizeof text);
            snprintf(message, message_size, "damaged %s data: cannot open the container: %s", recognised, text);
            return CM_ERR_CORRUPT;
        }
        cm_message(message, message_size, "cannot open container", error);
        return error == AVERROR_INVALIDDATA ? CM_ERR_SIGNATURE : cm_status_for(error);
    }
    if (!image) {
        error = avformat_find_stream_info(video->format, NULL);
        if (error < 0) {
            cm_message(message, message_size, "cannot read stream information", error);
            cm_video_close(video);
            return cm_status_for(error);
        }
    }
    const AVCodec *decoder = NULL;
    int stream = av_find_best_stream(video->format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
    if (stream < 0) {
        if (stream == AVERROR_DECODER_NOT_FOUND)
            snprintf(message, message_size, "no decoder for the video stream");
        else
            snprintf(message, message_size, "no video stream");
        cm_video_close(video);
        return CM_ERR_UNSUPPORTED;
    }
    video->stream = stream;
    AVStream *st = video->format->streams[stream];
    video->codec = avcodec_alloc_context3(decoder);
    if (!video->codec) {
        cm_video_close(video);
        return CM_ERR_NOMEM;
    }
    error = avcodec_parameters_to_context(video->codec, st->codecpar);
    if (error >= 0) {
        video->codec->thread_count = image ? 1 : threads;
        video->codec->pkt_timebase = st->time_base;
        if (image) {
            /* The JPEG decoder conceals a cut-short scan (gray rows) unless told to explode. */
            if (decoder->id == AV_CODEC_ID_MJPEG) video->codec->err_recognition |= AV_EF_EXPLODE;
            video->codec->opaque = video;
            video->codec->get_buffer2 = cm_get_buffer;
        }
        error = avcodec_open2(video->codec, decoder, NULL);
    }
    if (error < 0) {
        cm_message(message, message_size, "cannot open decoder", error);
        cm_video_close(video);
        return cm_status_for(error);
    }
    video->packet = av_packet_alloc();
    video->frame = av_frame_alloc();
    if (!video->packet || !video->frame) {
        cm_video_close(video);
        return CM_ERR_NOMEM;
    }
    if (!image && (video->codec->width <= 0 || video->codec->height <= 0)) {
        snprintf(message, message_size, "video stream has no frame size");
        cm_video_close(video);
        return CM_ERR_CORRUPT;
    }

    memset(info, 0, sizeof *info);
    info->width = video->codec->width;
    info->height = video->codec->height;
    AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate : st->r_frame_rate;
    info->fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        info->duration_s = st->duration * av_q2d(st->time_base);
    else if (video->format->duration != AV_NOPTS_VALUE && video->format->duration > 0)
        info->duration_s = (double)video->format->duration / AV_TIME_BASE;
    info->frames = st->nb_frames > 0 ? st->nb_frames : 0;
    snprintf(info->codec, sizeof info->codec, "%s", decoder->name);
    snprintf(info->container, sizeof info->container, "%s", video->format->iformat->name);
    snprintf(info->codec_id_name, sizeof info->codec_id_name, "%s", avcodec_get_name(st->codecpar->codec_id));
    *out = video;
    return CM_OK;
}

int cm_video_open(const char *path, int threads, cm_video **out, cm_video_info *info,
                  char *message, size_t message_size) {
    return cm_open(path, threads, 0, 0, out, info, message, message_size);
}

int cm_image_open(const char *path, int64_t max_pixels, cm_video **out, cm_video_info *info,
                  char *message, size_t message_size) {
    return cm_open(path, 1, 1, max_pixels, out, info, message, message_size);
}

int cm_video_count_packets(cm_video *video, int64_t limit, int64_t *count, char *message, size_t message_size) {
    *count = 0;
    for (;;) {
        int error = av_read_frame(video->format, video->packet);
        if (error == AVERROR_EOF) return CM_OK;
        if (error < 0) {
            cm_message(message, message_size, "cannot read packet", error);
            return cm_status_for(error);
        }
        if (video->packet->stream_index == video->stream) *count += 1;
        av_packet_unref(video->packet);
        if (*count > limit) return CM_ERR_TOO_LARGE;
    }
}

int cm_video_next(cm_video *video, double *pts_s, int *width, int *height, char *message, size_t message_size) {
    for (;;) {
        int error = avcodec_receive_frame(video->codec, video->frame);
        if (error >= 0) {
            AVStream *st = video->format->streams[video->stream];
            int64_t pts = video->frame->best_effort_timestamp;
            double start = st->start_time != AV_NOPTS_VALUE ? st->start_time * av_q2d(st->time_base) : 0;
            *pts_s = pts != AV_NOPTS_VALUE ? pts * av_q2d(st->time_base) - start : -1;
            *width = video->frame->width;
            *height = video->frame->height;
            if (video->frame->width <= 0 || video->frame->height <= 0 || video->frame->format < 0) {
                snprintf(message, message_size, "decoder returned an empty frame");
                return CM_ERR_CORRUPT;
            }
            return CM_OK;
        }
        if (video->refused) return cm_refusal(video, message, message_size);
        if (error == AVERROR_EOF) return CM_EOF;
        if (error != AVERROR(EAGAIN)) {
            if (error == AVERROR_INVALIDDATA) {
                video->decode_errors += 1;
                continue;
            }
            cm_message(message, message_size, "cannot decode frame", error);
            return cm_status_for(error);
        }
        if (video->draining) return CM_EOF;
        /* The decoder wants input. */
        error = av_read_frame(video->format, video->packet);
        if (error == AVERROR_EOF) {
            video->draining = 1;
            avcodec_send_packet(video->codec, NULL);
            continue;
        }
        if (error < 0) {
            cm_message(message, message_size, "cannot read packet", error);
            return cm_status_for(error);
        }
        if (video->packet->stream_index == video->stream) {
            error = avcodec_send_packet(video->codec, video->packet);
            if (error < 0 && error != AVERROR(EAGAIN)) {
                if (video->refused) {
                    av_packet_unref(video->packet);
                    return cm_refusal(video, message, message_size);
                }
                if (error == AVERROR_INVALIDDATA) {
                    video->decode_errors += 1;
                } else {
                    av_packet_unref(video->packet);
                    cm_message(message, message_size, "cannot decode packet", error);
                    return cm_status_for(error);
                }
            }
        }
        av_packet_unref(video->packet);
    }
}

static const char *cm_format_name(int format) {
    const char *name = av_get_pix_fmt_name((enum AVPixelFormat)format);
    return name ? name : "unknown";
}

/* Converts the held frame into packed `target` pixels, rows `stride` bytes apart. */
static int cm_convert_to(cm_video *video, int out_width, int out_height, enum AVPixelFormat target, uint8_t *dst,
                         int stride, char *message, size_t message_size) {
    AVFrame *frame = video->frame;
    int flags = SWS_BICUBIC;
    video->scaler = sws_getCachedContext(video->scaler, frame->width, frame->height, (enum AVPixelFormat)frame->format,
                                         out_width, out_height, target, flags, NULL, NULL, NULL);
    if (!video->scaler) {
        snprintf(message, message_size, "cannot convert %s frames of %dx%d", cm_format_name(frame->format),
                 frame->width, frame->height);
        return CM_ERR_UNSUPPORTED;
    }
    if (video->image && frame->color_range == AVCOL_RANGE_JPEG) {
        /* A full-range YCbCr picture in a format whose name does not say so (the yuvj* formats
         * already do, and swscale maps them itself). */
        int *inv_table, *table, src_range, dst_range, brightness, contrast, saturation;
        if (sws_getColorspaceDetails(video->scaler, &inv_table, &src_range, &table, &dst_range, &brightness,
                                     &contrast, &saturation) >= 0 && !src_range)
            sws_setColorspaceDetails(video->scaler, inv_table, 1, table, dst_range, brightness, contrast, saturation);
    }
    if (!video->scratch[0] || video->scratch_width != out_width || video->scratch_height != out_height ||
        video->scratch_format != target) {
        av_freep(&video->scratch[0]);
        if (av_image_alloc(video->scratch, video->scratch_linesize, out_width, out_height, target, 64) < 0) {
            snprintf(message, message_size, "cannot allocate a %dx%d conversion buffer", out_width, out_height);
            return CM_ERR_NOMEM;
        }
        video->scratch_width = out_width;
        video->scratch_height = out_height;
        video->scratch_format = target;
    }
    int rows = sws_scale(video->scaler, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height,
                         video->scratch, video->scratch_linesize);
    if (rows != out_height) {
        snprintf(message, message_size, "scaler produced %d of %d rows", rows, out_height);
        return CM_ERR_CORRUPT;
    }
    av_image_copy_plane(dst, stride, video->scratch[0], video->scratch_linesize[0],
                        av_image_get_linesize(target, out_width, 0), out_height);
    return CM_OK;
}

int cm_video_convert(cm_video *video, int out_width, int out_height, int gray, uint8_t *dst,
                     char *message, size_t message_size) {
    if (out_width <= 0 || out_height <= 0) {
        snprintf(message, message_size, "invalid output size %dx%d", out_width, out_height);
        return CM_ERR_ARGUMENT;
    }
    return cm_convert_to(video, out_width, out_height, gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24, dst,
                         out_width * (gray ? 1 : 3), message, message_size);
}

static void cm_describe(int format, int width, int height, cm_frame_format *out) {
    memset(out, 0, sizeof *out);
    out->width = width;
    out->height = height;
    out->format = format;
    snprintf(out->format_name, sizeof out->format_name, "%s", cm_format_name(format));
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)format);
    if (!desc) return;
    out->components = desc->nb_components;
    out->bit_depth = desc->nb_components > 0 ? desc->comp[0].depth : 0;
    out->is_palette = (desc->flags & AV_PIX_FMT_FLAG_PAL) != 0;
    out->has_alpha = (desc->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
    int rgb = (desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_BAYER)) != 0 || strncmp(desc->name, "xyz", 3) == 0;
    out->is_gray = !out->is_palette && !rgb && desc->nb_components == (out->has_alpha ? 2 : 1);
    out->is_yuv = !out->is_palette && !rgb && !out->is_gray;
}

int cm_image_frame_format(const cm_video *video, cm_frame_format *out) {
    if (video->refused) {
        cm_describe(video->refused_format, video->refused_width, video->refused_height, out);
        return 1;
    }
    cm_describe(video->frame->format, video->frame->width, video->frame->height, out);
    return 0;
}

static const struct { int target; enum AVPixelFormat format; int bytes; } cm_targets[] = {
    {CM_PIX_GRAY8, AV_PIX_FMT_GRAY8, 1},   {CM_PIX_YA8, AV_PIX_FMT_YA8, 2},
    {CM_PIX_RGB24, AV_PIX_FMT_RGB24, 3},   {CM_PIX_RGBA, AV_PIX_FMT_RGBA, 4},
    {CM_PIX_GRAY16, AV_PIX_FMT_GRAY16, 2}, {CM_PIX_YA16, AV_PIX_FMT_YA16, 4},
    {CM_PIX_RGB48, AV_PIX_FMT_RGB48, 6},   {CM_PIX_RGBA64, AV_PIX_FMT_RGBA64, 8},
};

int cm_image_convert(cm_video *video, int target, void *dst, size_t capacity, char *message, size_t message_size) {
    AVFrame *frame = video->frame;
    for (size_t i = 0; i < sizeof cm_targets / sizeof cm_targets[0]; i++) {
        if (cm_targets[i].target != target) continue;
        if (frame->width <= 0 || frame->height <= 0 || frame->width > (1 << 16) || frame->height > (1 << 16) ||
            (uint64_t)frame->width * frame->height * cm_targets[i].bytes > capacity) {
            snprintf(message, message_size, "cannot convert a %dx%d frame into %zu bytes", frame->width,
                     frame->height, capacity);
            return CM_ERR_ARGUMENT;
        }
        return cm_convert_to(video, frame->width, frame->height, cm_targets[i].format, (uint8_t *)dst,
                             frame->width * cm_targets[i].bytes, message, message_size);
    }
    snprintf(message, message_size, "unknown target pixel format %d", target);
    return CM_ERR_ARGUMENT;
}

int cm_probe_content(const char *path, char *name, size_t name_size) {
    if (name && name_size) name[0] = 0;
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    enum { size = 1 << 14 };
    uint8_t *buffer = (uint8_t *)calloc(1, size + AVPROBE_PADDING_SIZE);
    if (!buffer) {
        fclose(file);
        return 0;
    }
    size_t count = fread(buffer, 1, size, file);
    fclose(file);
    AVProbeData probe = {.filename = "", .buf = buffer, .buf_size = (int)count, .mime_type = NULL};
    int score = 0;
    const AVInputFormat *format = count > 0 ? av_probe_input_format3(&probe, 1, &score) : NULL;
    if (format && name && name_size) snprintf(name, name_size, "%s", format->name);
    free(buffer);
    return format ? score : 0;
}

int64_t cm_video_decode_errors(const cm_video *video) { return video->decode_errors; }

int cm_streams(const char *path, cm_stream_info *streams, int capacity, int *count, char *message, size_t message_size) {
    *count = 0;
    av_log_set_level(AV_LOG_QUIET);
    AVFormatContext *format = NULL;
    int error = avformat_open_input(&format, path, NULL, NULL);
    if (error < 0) {
        cm_message(message, message_size, "cannot open container", error);
        return cm_status_for(error);
    }
    error = avformat_find_stream_info(format, NULL);
    if (error < 0) {
        cm_message(message, message_size, "cannot read stream information", error);
        avformat_close_input(&format);
        return cm_status_for(error);
    }
    *count = (int)format->nb_streams;
    for (unsigned i = 0; i < format->nb_streams && (int)i < capacity; i++) {
        const AVStream *st = format->streams[i];
        const AVCodecParameters *par = st->codecpar;
        cm_stream_info *out = &streams[i];
        memset(out, 0, sizeof *out);
        out->index = (int)i;
        out->type = par->codec_type == AVMEDIA_TYPE_VIDEO ? 0 : par->codec_type == AVMEDIA_TYPE_AUDIO ? 1
                  : par->codec_type == AVMEDIA_TYPE_SUBTITLE ? 2 : 3;
        snprintf(out->codec, sizeof out->codec, "%s", avcodec_get_name(par->codec_id));
        out->width = par->width;
        out->height = par->height;
        out->sample_rate = par->sample_rate;
        out->channels = par->ch_layout.nb_channels;
        if (st->duration != AV_NOPTS_VALUE && st->duration > 0) out->duration_s = st->duration * av_q2d(st->time_base);
    }
    avformat_close_input(&format);
    return CM_OK;
}
