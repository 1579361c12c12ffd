/* Placeholder entry point of airlock-sandbox. */
int main(void)
{
	return 125;
}
