#ifndef CMEDIA_SHIM_H
#define CMEDIA_SHIM_H
#include <sndfile.h>
#include <zlib.h>
#include <png.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#endif
