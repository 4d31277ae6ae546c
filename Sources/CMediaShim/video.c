/* FFmpeg video reading: demux → decode → swscale, one frame at a time. */
#include "cmedia_shim.h"
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdio.h>
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

int cm_video_open(const char *path, int threads, cm_video **out, cm_video_info *info,
                  char *message, size_t message_size) {
    *out = NULL;
    av_log_set_level(AV_LOG_QUIET);
    cm_video *video = (cm_video *)av_mallocz(sizeof *video);
    if (!video) return CM_ERR_NOMEM;
    int error = avformat_open_input(&video->format, path, NULL, NULL);
    if (error < 0) {
        cm_message(message, message_size, "cannot open container", error);
        cm_video_close(video);
        return error == AVERROR_INVALIDDATA ? CM_ERR_SIGNATURE : cm_status_for(error);
    }
    error = avformat_find_stream_info(video->format, NULL);
    if (error < 0) {
        cm_message(message, message_size, "cannot read stream information", error);
        cm_video_close(video);
        return cm_status_for(error);
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
        video->codec->thread_count = threads;
        video->codec->pkt_timebase = st->time_base;
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
    if (video->codec->width <= 0 || video->codec->height <= 0) {
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
    *out = video;
    return CM_OK;
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

int cm_video_convert(cm_video *video, int out_width, int out_height, int gray, uint8_t *dst,
                     char *message, size_t message_size) {
    AVFrame *frame = video->frame;
    if (out_width <= 0 || out_height <= 0) {
        snprintf(message, message_size, "invalid output size %dx%d", out_width, out_height);
        return CM_ERR_ARGUMENT;
    }
    enum AVPixelFormat target = gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
    int flags = SWS_BICUBIC;
    video->scaler = sws_getCachedContext(video->scaler, frame->width, frame->height, (enum AVPixelFormat)frame->format,
                                         out_width, out_height, target, flags, NULL, NULL, NULL);
    if (!video->scaler) {
        snprintf(message, message_size, "cannot convert %s frames of %dx%d",
                 av_get_pix_fmt_name((enum AVPixelFormat)frame->format) ? av_get_pix_fmt_name((enum AVPixelFormat)frame->format) : "unknown",
                 frame->width, frame->height);
        return CM_ERR_UNSUPPORTED;
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
    av_image_copy_plane(dst, out_width * (gray ? 1 : 3), video->scratch[0], video->scratch_linesize[0],
                        av_image_get_linesize(target, out_width, 0), out_height);
    return CM_OK;
}

int64_t cm_video_decode_errors(const cm_video *video) { return video->decode_errors; }
