#ifndef BILLD_IDENTITY_H
#define BILLD_IDENTITY_H
#include "../common.h"
#endif
