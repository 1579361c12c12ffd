/*
 * The proxy variables, in SPEC order. ALL_PROXY and all_proxy take the
 * SOCKS endpoint (with remote name resolution); the rest take HTTP.
 */
#include "proxy-vars.h"

const struct proxy_var proxy_vars[] = {
    {.name = "HTTP_PROXY"},
    {.name = "HTTPS_PROXY"},
    {.name = "http_proxy"},
    {.name = "https_proxy"},
    {.name = "ALL_PROXY", .socks = true},
    {.name = "all_proxy", .socks = true},
    {.name = "FTP_PROXY"},
    {.name = "ftp_proxy"},
    {.name = "YARN_HTTP_PROXY"},
    {.name = "YARN_HTTPS_PROXY"},
    {.name = "npm_config_http_proxy"},
    {.name = "npm_config_https_proxy"},
    {.name = "npm_config_proxy"},
    {.name = "PIP_PROXY"},
    {.name = "BUNDLE_HTTP_PROXY"},
    {.name = "BUNDLE_HTTPS_PROXY"},
    {.name = "DOCKER_HTTP_PROXY"},
    {.name = "DOCKER_HTTPS_PROXY"},
    {.name = "WS_PROXY"},
    {.name = "WSS_PROXY"},
};

const size_t proxy_n_vars = sizeof proxy_vars / sizeof proxy_vars[0];
