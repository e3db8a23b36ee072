#ifndef BILLD_STORAGE_H
#define BILLD_STORAGE_H
#include "../common.h"
#endif
