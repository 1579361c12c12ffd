void a(void)
{
	x = 1;
}

void b(void)
{
	x = 1;
}
