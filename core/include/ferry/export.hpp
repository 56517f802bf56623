// ferry plugin API: include in exactly one .cpp of a plugin, to export its entry point.
#pragma once

#include <boost/dll/alias.hpp>

#include "ferry/plugin.hpp"

// Exports `fn` (a function `const ferry::PluginDescriptor* fn()`) under the fixed alias
// "ferry_plugin" that the server looks up.
#define FERRY_PLUGIN(fn) BOOST_DLL_ALIAS(fn, ferry_plugin)
